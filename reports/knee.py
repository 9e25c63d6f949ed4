"""Knee detection: the highest rate the pipeline carried without throttling or falling behind.

The load test writes a row to steps.csv for every probe and phase, its latency percentiles
read from the phase's HdrHistogram merged across workers. A run folder without steps (an older
run) is grouped by the rate the scenario asked for and each level judged by the same rules; its
percentiles are not shown, since a level's percentile cannot be rebuilt from per-second ones
(a median or average of percentiles is not a percentile).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THROTTLE_TOLERANCE = 0.005  # share of offered throttled that still counts as sustained
ACCEPTED_TOLERANCE = 0.02  # accepted may fall short of offered by this share
MIN_LEVEL_SECONDS = 3  # a rate held for fewer seconds is a transition, not a level
NOT_RECORDED = float("nan")  # a level's percentile needs its histogram (steps.csv)


@dataclass(frozen=True)
class Level:
    """One rate the run held, and how the pipeline answered it."""

    target_rate: float
    offered_rate: float
    accepted_rate: float
    throttled_rate: float
    seconds: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    sustained: bool
    reasons: str = ""


@dataclass(frozen=True)
class Knee:
    """`rate` is what the pipeline accepted (records/s acknowledged) at the highest sustained
    level, never the rate the level asked for: the target can overstate what was carried."""

    rate: float | None  # accepted records/s; None: no level was sustained
    reached: bool  # False: every level was sustained, the knee is above the highest rate
    first_failed: Level | None  # the lowest rate not sustained
    source: str  # "capacity search" or "timeline"
    target_rate: float | None = None  # what that level asked for
    offered_rate: float | None = None  # what the generator sent at that level


def judge(
    offered: float, accepted: float, throttled: float, downstream: float = 0.0
) -> tuple[bool, str]:
    reasons = []
    if offered <= 0:
        return False, "nothing offered"
    if downstream > 0:
        reasons.append(f"throttled past the stream: {downstream:,.1f} events/s")
    if throttled > offered * THROTTLE_TOLERANCE:
        reasons.append(f"throttled {throttled:.0f}/s ({throttled / offered:.1%} of offered)")
    if accepted < offered * (1 - ACCEPTED_TOLERANCE):
        reasons.append(f"accepted {accepted:.0f}/s < offered {offered:.0f}/s")
    return not reasons, "; ".join(reasons)


def levels_from_timeline(
    target: np.ndarray,
    offered: np.ndarray,
    accepted: np.ndarray,
    throttled: np.ndarray,
    p50: np.ndarray,
    p95: np.ndarray,
    p99: np.ndarray,
    downstream: np.ndarray | None = None,
) -> list[Level]:
    """Group seconds by the rate asked for; judge each group held long enough.

    `downstream` (throttle events a second past the stream: table, Lambda) fails a level the
    producer alone would call sustained: the consumer falls behind while Kinesis accepts all.
    """
    levels = []
    rounded = np.round(np.nan_to_num(target), 3)
    for rate in np.unique(rounded):
        if rate <= 0:
            continue
        pick = rounded == rate
        seconds = int(pick.sum())
        if seconds < MIN_LEVEL_SECONDS:
            continue
        o, a, t = (float(np.nansum(x[pick])) / seconds for x in (offered, accepted, throttled))
        d = float(np.nansum(downstream[pick])) / seconds if downstream is not None else 0.0
        sustained, reasons = judge(o, a, t, d)
        levels.append(
            Level(
                target_rate=float(rate),
                offered_rate=o,
                accepted_rate=a,
                throttled_rate=t,
                seconds=seconds,
                latency_p50_ms=NOT_RECORDED,
                latency_p95_ms=NOT_RECORDED,
                latency_p99_ms=NOT_RECORDED,
                sustained=sustained,
                reasons=reasons,
            )
        )
    return levels


def levels_from_steps(steps: list[dict]) -> list[Level]:
    return [
        Level(
            target_rate=s["target_rate"],
            offered_rate=s["offered_rate"],
            accepted_rate=s["accepted_rate"],
            throttled_rate=s["throttled_rate"],
            seconds=s["duration_s"],
            latency_p50_ms=s["latency_p50_ms"],
            latency_p95_ms=s["latency_p95_ms"],
            latency_p99_ms=s["latency_p99_ms"],
            sustained=s["sustained"],
            reasons=s.get("reasons", ""),
        )
        for s in steps
    ]


def find_knee(levels: list[Level], source: str) -> Knee:
    """The highest sustained rate below the lowest failed one."""
    failed = [lv for lv in levels if not lv.sustained]
    first_failed = min(failed, key=lambda lv: lv.target_rate) if failed else None
    ceiling = first_failed.target_rate if first_failed else float("inf")
    sustained = [lv for lv in levels if lv.sustained and lv.target_rate < ceiling]
    if not sustained:
        return Knee(None, first_failed is not None, first_failed, source)
    best = max(sustained, key=lambda lv: lv.target_rate)
    return Knee(
        best.accepted_rate,
        first_failed is not None,
        first_failed,
        source,
        target_rate=best.target_rate,
        offered_rate=best.offered_rate,
    )
