"""Capacity search: judge each probe, grow the rate until one fails, then bisect.

Pure logic (no clock, no I/O) so it can be tested on synthetic responses; the controller in
the Locust master feeds it the measured windows.
"""

from __future__ import annotations

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
