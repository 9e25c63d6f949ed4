"""Capacity search over the read API: `make loadtest SCENARIO=capacity MIX=read`.

The same search as for records (grow by `growth` until a probe fails, then bisect), over API
requests/s: readers get events by id and query by type (loadtests.locustfile), and a probe is
sustained when the readers sent the target, nearly every request got a 200, and the API's
429s (its route or stage throttle, seen by the readers, never read from the API's own counters)
stay within the throttle tolerance. Latency is recorded per probe but not judged: on a busy
machine the local API's latency is the machine's, and the capacity asked for is the throttle
(GATE_P99_MS gates the knee probe's p99). The ceiling is READ_RATE when set, else RATE.

An HTTP API route throttle is a token bucket (rate limit, burst) per route: the stage's default
route limits apply to each route on its own, so the API as a whole admits the limit divided by
the busiest route's share of the reads (80% get-by-id: 1.25x the limit). A probe above it only
throttles once the burst is spent, (burst / (offered - rate)) seconds in, so a small burst lets
a short probe see it.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from loadtests import timeline as tl
from loadtests.scenarios import Scenario, Search
from loadtests.search import GENERATOR_TOLERANCE, KneeSearch, ProbeResult, Verdict

if TYPE_CHECKING:  # the controller imports this module
    from loadtests.control import Controller

READ_TYPES = (tl.API_GET_EVENT, tl.API_QUERY)
THROTTLED = "API answered 429 to"  # the marker a failed step's reasons carry
SERVER_ERRORS = "HTTP 5xx or no answer on"
GENERATOR = "generator sent"
ANSWER_WAIT_S = 10.0  # the readers' network timeout (loadtests.locustfile)
RECOVER_S = 2.0  # after a failed probe: no reads, so the API's token bucket refills
WARMUP_READS_PER_S = 2.0


def is_read_search(scenario: Scenario) -> bool:
    return scenario.shape == "capacity" and scenario.mix == "read"


def ceiling(scenario: Scenario) -> float:
    """The highest requests/s the search may offer."""
    return scenario.read_rate or scenario.rate


def start_rate(environment: Any, scenario: Scenario) -> float:
    """The first probe: 60% of the API's configured throttle (a seed, never the answer)."""
    if scenario.search.start_rate:
        return scenario.search.start_rate
    return max(min(0.6 * float(environment.api.throttling_rate_limit), ceiling(scenario)), 1.0)


def judge_reads(result: ProbeResult, criteria: Search) -> Verdict:
    reasons: list[str] = []
    offered = max(result.offered_rate, 1e-9)
    generator_limited = result.offered_rate < result.target_rate * (1 - GENERATOR_TOLERANCE)
    if generator_limited:
        reasons.append(
            f"{GENERATOR} {result.offered_rate:.0f}/s of {result.target_rate:.0f}/s target"
        )
    if result.throttled_rate > offered * criteria.throttle_tolerance:
        reasons.append(f"{THROTTLED} {result.throttled_rate:.1f} requests/s")
    if result.error_rate > criteria.accepted_tolerance:
        reasons.append(f"{SERVER_ERRORS} {result.error_rate:.1%} of requests")
    if not reasons and result.accepted_rate < offered * (1 - criteria.accepted_tolerance):
        reasons.append(
            f"accepted {result.accepted_rate:.0f}/s < offered {result.offered_rate:.0f}/s"
        )
    return Verdict(not reasons, tuple(reasons), generator_limited)


def search(controller: Controller) -> None:
    """Run the search in the controller (its phases, health checks and step rows)."""
    import gevent  # the controller's process is Locust's, monkeypatched

    c = controller
    s = c.config.scenario
    criteria = s.search
    knees = KneeSearch(c.config.start_rate, ceiling(s), criteria)
    c._warmup(0.0, min(WARMUP_READS_PER_S, c.config.start_rate))
    budget_end = time.time() + s.duration_s
    probe_s = criteria.settle_s + criteria.hold_s + c.report_lag
    step = 0
    while not knees.done and time.time() + probe_s <= budget_end:
        rate = knees.next_rate()
        assert rate is not None
        step += 1
        name = f"probe-{rate:.0f}"
        c.set_phase(name, 0, rate, 0)
        judged_from = time.time() + criteria.settle_s
        judged_to = judged_from + criteria.hold_s
        c._sleep(judged_to - time.time() + c.report_lag)
        _wait_for_answers(c, judged_from, judged_to, rate * criteria.hold_s, gevent.sleep)
        verdict = record_step(c, step, name, judged_from, judged_to, rate)
        knees.record(rate, verdict, c.steps[-1].accepted_rate)
        if not verdict.sustained and not knees.done:
            c.set_phase("recover", 0, 0, 0)
            gevent.sleep(RECOVER_S)
    c.knee_target = knees.knee or None
    c.knee = knees.knee_accepted


def _wait_for_answers(c: Controller, start: float, end: float, wanted: float, sleep: Any) -> None:
    """A request is counted when its answer comes: on a slow machine some of the window's
    requests are still out when it closes. Wait for them (at most the readers' timeout), so
    slow answers are judged as what they are, not as requests never sent."""
    deadline = time.time() + ANSWER_WAIT_S
    while time.time() < deadline:
        sent = c.timeline.window(READ_TYPES, start, end).counts["offered"]
        if sent >= wanted * (1 - GENERATOR_TOLERANCE):
            return
        sleep(0.5)


def record_step(
    c: Controller, index: int, name: str, start: float, end: float, target: float
) -> Verdict:
    from loadtests.control import StepRow

    c._check_health()  # a dead part is a broken run, never a failed step
    reads = c.timeline.window(READ_TYPES, start, end)
    calls = max(reads.counts["calls"], 1)
    result = ProbeResult(
        target_rate=target,
        offered_rate=reads.rate("offered"),
        accepted_rate=reads.rate("accepted"),
        throttled_rate=reads.rate("throttled"),
        error_rate=reads.counts["errors"] / calls,
        latency_p99_ms=reads.percentile(99) if reads.samples else 0.0,
    )
    verdict = judge_reads(result, c.config.scenario.search)
    has = reads.samples > 0
    c.steps.append(
        StepRow(
            step=index,
            phase=name,
            started_at=start,
            duration_s=end - start,
            target_rate=target,
            offered_rate=result.offered_rate,
            accepted_rate=result.accepted_rate,
            throttled_rate=result.throttled_rate,
            error_rate=result.error_rate,
            latency_p50_ms=reads.percentile(50) if has else 0.0,
            latency_p95_ms=reads.percentile(95) if has else 0.0,
            latency_p99_ms=result.latency_p99_ms,
            iterator_age_max_ms=None,
            sustained=verdict.sustained,
            reasons="; ".join(verdict.reasons),
            generator_limited=verdict.generator_limited,
        )
    )
    mark = "sustained" if verdict.sustained else "NOT sustained: " + "; ".join(verdict.reasons)
    print(f"  step {index} {name} (API reads/s): {mark}", file=sys.stdout, flush=True)
    c.write_steps()
    return verdict


# (marker in a failed step's reasons, resource, metric, the step's column, what it means)
_EXPLANATIONS = (
    (THROTTLED, "API rate limit", "API 429 answers", "throttled_rate", "the readers got 429s:"),
    (SERVER_ERRORS, "api errors", "API HTTP 5xx answers", "error_rate", "the API failed:"),
    (GENERATOR, "load generator", "offered rate", "offered_rate", "(add WORKERS)"),
)


def bottleneck(steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What stopped the first read probe that was not sustained, as the readers saw it."""
    failed = next((s for s in steps if not s.get("sustained")), None)
    if failed is None:
        return None
    reasons = failed.get("reasons") or ""
    rate = float(failed["target_rate"])
    for marker, resource, metric, column, why in _EXPLANATIONS:
        if marker in reasons:
            return {
                "resource": resource,
                "metric": metric,
                "first_at": int(float(failed["started_at"])),
                "value": float(failed.get(column) or 0),
                "evidence": f"at {rate:.0f} requests/s {why} {reasons}",
                "rate": rate,
                "reasons": reasons,
            }
    return None
