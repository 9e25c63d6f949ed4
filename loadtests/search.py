"""Capacity search: judge each probe, grow the rate until one fails, then bisect.

Pure logic (no clock, no I/O) so it can be tested on synthetic responses; the controller in
the Locust master feeds it the measured windows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from loadtests.scenarios import Search


@dataclass(frozen=True)
class ProbeResult:
    """What one probe measured over its judged window."""

    target_rate: float
    offered_rate: float  # first attempts sent per second
    accepted_rate: float
    throttled_rate: float
    error_rate: float  # share of calls failed other than throttles
    latency_p99_ms: float
    e2e_p95_ms: float | None = None  # None when no probe completed in the window
    downstream_throttles: dict[str, float] = field(default_factory=dict)  # metric -> count
    e2e_growth: Growth | None = None  # how produced->readable moved over the probe


@dataclass(frozen=True)
class Growth:
    """The trend of produced->readable latency over a probe, by the time each probe became
    readable.

    A pipeline that stores what it is given keeps that latency flat. One that stores C records/s
    of a rate R > C is, at any moment, storing what was sent C / R as long ago: the latency of
    what becomes readable climbs by 1 - C / R seconds every second, the share of the offered
    rate it does not store (AWS's IteratorAge rises the same way). Client-side: the probes' own
    timings, never the pipeline's counters."""

    per_s: float  # seconds of latency gained per second: the share of the rate not stored
    stderr: float
    samples: int

    @property
    def significant(self) -> bool:
        return self.per_s > GROWTH_SIGNIFICANCE * self.stderr


GROWTH_SIGNIFICANCE = 2.0  # a slope counts when it is this many standard errors above 0
MIN_GROWTH_SAMPLES = 6


def latency_growth(points: Iterable[tuple[float, float, float]]) -> Growth | None:
    """Weighted least squares of latency (s) on time (s): (time, latency, weight) points, a
    weight being how many probes a point stands for (a second's mean latency weighs its count).
    None with too few probes."""
    rows = [(t, y, w) for t, y, w in points if w > 0]
    n = sum(w for _, _, w in rows)
    if n < MIN_GROWTH_SAMPLES or len({t for t, _, _ in rows}) < 3:
        return None
    mean_t = sum(t * w for t, _, w in rows) / n
    mean_y = sum(y * w for _, y, w in rows) / n
    sxx = sum(w * (t - mean_t) ** 2 for t, _, w in rows)
    slope = sum(w * (t - mean_t) * (y - mean_y) for t, y, w in rows) / sxx
    residual = sum(w * (y - mean_y - slope * (t - mean_t)) ** 2 for t, y, w in rows)
    stderr = math.sqrt(residual / max(n - 2, 1) / sxx)
    return Growth(slope, stderr, int(n))


@dataclass(frozen=True)
class Verdict:
    sustained: bool
    reasons: tuple[str, ...]
    generator_limited: bool = False


GENERATOR_TOLERANCE = 0.05  # the generator must send at least 95% of the target


def judge(result: ProbeResult, criteria: Search) -> Verdict:
    """Sustained when offered == target, nearly all accepted, no throttling, latency in limit."""
    reasons: list[str] = []
    generator_limited = result.offered_rate < result.target_rate * (1 - GENERATOR_TOLERANCE)
    if generator_limited:
        reasons.append(
            f"generator sent {result.offered_rate:.0f}/s of {result.target_rate:.0f}/s target"
        )
    offered = max(result.offered_rate, 1e-9)
    if result.accepted_rate < offered * (1 - criteria.accepted_tolerance):
        reasons.append(
            f"accepted {result.accepted_rate:.0f}/s < offered {result.offered_rate:.0f}/s"
        )
    if result.throttled_rate > offered * criteria.throttle_tolerance:
        reasons.append(f"throttled {result.throttled_rate:.0f} records/s")
    if result.latency_p99_ms > criteria.latency_limit_ms:
        reasons.append(
            f"p99 {result.latency_p99_ms:.0f} ms > limit {criteria.latency_limit_ms:.0f} ms"
        )
    if result.e2e_p95_ms is not None and result.e2e_p95_ms > criteria.e2e_limit_ms:
        reasons.append(
            f"produced->readable p95 {result.e2e_p95_ms:.0f} ms > {criteria.e2e_limit_ms:.0f} ms"
        )
    growth = result.e2e_growth
    if growth is not None and growth.per_s > criteria.backlog_growth and growth.significant:
        reasons.append(
            f"produced->readable grew {growth.per_s * 1000:.0f} ms a second"
            f" (+-{growth.stderr * 1000:.0f}, {growth.samples} probes): the pipeline stored"
            f" about {min(growth.per_s, 1):.0%} less than it was given"
        )
    for metric, value in sorted(result.downstream_throttles.items()):
        if value > 0:
            reasons.append(f"{metric} {value:g}")
    return Verdict(not reasons, tuple(reasons), generator_limited)


class KneeSearch:
    """Geometric growth from the start rate until a probe fails, then bisection."""

    def __init__(self, start_rate: float, max_rate: float, criteria: Search, min_rate: float = 1):
        if start_rate <= 0 or max_rate <= 0:
            raise ValueError("start and max rate must be > 0")
        self.criteria = criteria
        self.max_rate = max_rate
        self.min_rate = min_rate
        self.lo: float = 0.0  # highest rate sustained
        self.hi: float | None = None  # lowest rate not sustained
        self._next: float | None = min(start_rate, max_rate)
        self.history: list[tuple[float, Verdict]] = []
        self.accepted: dict[float, float] = {}  # probe rate -> records/s accepted

    @property
    def knee(self) -> float:
        """The highest target rate sustained (what the search steers by)."""
        return self.lo

    @property
    def knee_accepted(self) -> float | None:
        """What the pipeline accepted at the highest sustained probe: the knee to report."""
        return self.accepted.get(self.lo) if self.lo else None

    @property
    def done(self) -> bool:
        return self._next is None

    def next_rate(self) -> float | None:
        return self._next

    def record(self, rate: float, verdict: Verdict, accepted_rate: float | None = None) -> None:
        self.history.append((rate, verdict))
        if verdict.sustained and accepted_rate is not None:
            self.accepted[rate] = accepted_rate
        if verdict.sustained:
            self.lo = max(self.lo, rate)
        else:
            self.hi = rate if self.hi is None else min(self.hi, rate)
        self._next = self._choose()

    def _choose(self) -> float | None:
        if self.hi is None:
            if self.lo >= self.max_rate:
                return None  # sustained the ceiling: the knee is above what we may offer
            return min(self.lo * self.criteria.growth, self.max_rate)
        if self.lo == 0:
            if self.hi <= self.min_rate:
                return None
            return max(self.hi / 2, self.min_rate)
        if self.hi - self.lo <= self.criteria.resolution * self.lo:
            return None
        return (self.lo + self.hi) / 2
