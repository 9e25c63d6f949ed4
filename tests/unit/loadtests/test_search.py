import pytest

from loadtests.scenarios import Search
from loadtests.search import KneeSearch, ProbeResult, judge

CRITERIA = Search()


def pipeline_with_capacity(capacity: float, latency_ms: float = 40.0):
    """A synthetic pipeline: up to `capacity` records/s accepted, the excess throttled."""

    def respond(rate: float) -> ProbeResult:
        accepted = min(rate, capacity)
        return ProbeResult(
            target_rate=rate,
            offered_rate=rate,
            accepted_rate=accepted,
            throttled_rate=rate - accepted,
            error_rate=0.0,
            latency_p99_ms=latency_ms,
        )

    return respond


def search_knee(respond, start: float, max_rate: float = 20_000, probes: int = 30):
    search = KneeSearch(start, max_rate, CRITERIA)
    count = 0
    while not search.done and count < probes:
        rate = search.next_rate()
        search.record(rate, judge(respond(rate), CRITERIA))
        count += 1
    return search, count


@pytest.mark.parametrize("capacity", [1000, 2000, 1600, 100, 7300])
@pytest.mark.parametrize("start_share", [0.6, 0.2, 1.5])
def test_the_knee_is_found_within_five_percent(capacity, start_share):
    search, probes = search_knee(pipeline_with_capacity(capacity), capacity * start_share)
    assert search.done
    # a probe may carry up to the throttle tolerance above capacity and still be sustained
    assert capacity * 0.95 <= search.knee <= capacity * (1 + CRITERIA.throttle_tolerance)
    assert probes <= 16


def test_a_first_probe_above_capacity_halves_until_one_is_sustained():
    search = KneeSearch(4000, 20_000, CRITERIA)
    respond = pipeline_with_capacity(1000)
    search.record(4000, judge(respond(4000), CRITERIA))
    assert search.next_rate() == 2000
    search.record(2000, judge(respond(2000), CRITERIA))
    assert search.next_rate() == 1000
    search.record(1000, judge(respond(1000), CRITERIA))
    assert search.next_rate() == 1500  # bisect between sustained 1000 and failed 2000


def test_sustaining_the_ceiling_stops_the_search_there():
    search, _ = search_knee(pipeline_with_capacity(50_000), 800, max_rate=1000)
    assert search.done and search.knee == 1000


def test_latency_past_the_limit_is_not_sustained_even_without_throttles():
    verdict = judge(pipeline_with_capacity(10_000, latency_ms=2500)(500), CRITERIA)
    assert not verdict.sustained
    assert verdict.reasons == ("p99 2500 ms > limit 2000 ms",)


def test_downstream_throttles_and_slow_end_to_end_fail_the_probe():
    result = ProbeResult(
        target_rate=300,
        offered_rate=300,
        accepted_rate=300,
        throttled_rate=0,
        error_rate=0,
        latency_p99_ms=30,
        e2e_p95_ms=9500,
        downstream_throttles={
            "AWS/DynamoDB WriteThrottleEvents": 42.0,
            "AWS/Lambda Throttles": 0.0,
        },
    )
    verdict = judge(result, CRITERIA)
    assert verdict.reasons == (
        "produced->readable p95 9500 ms > 8000 ms",
        "AWS/DynamoDB WriteThrottleEvents 42",
    )


def test_a_generator_short_of_its_target_is_flagged():
    result = ProbeResult(1000, 800, 800, 0, 0, 20)
    verdict = judge(result, CRITERIA)
    assert verdict.generator_limited
    assert verdict.reasons == ("generator sent 800/s of 1000/s target",)


def test_small_throttle_share_within_tolerance_is_sustained():
    result = ProbeResult(1000, 1000, 1000, 4, 0, 20)
    assert judge(result, CRITERIA).sustained


def test_the_reported_knee_is_what_the_highest_sustained_probe_accepted():
    """A pipeline that acknowledges 1.5% less than it is offered (within the 2% tolerance):
    the probe's target would overstate what was carried; the knee reports the accepted rate."""

    def respond(rate: float) -> ProbeResult:
        accepted = min(rate, 1000.0) * 0.985
        return ProbeResult(
            target_rate=rate,
            offered_rate=rate,
            accepted_rate=accepted,
            throttled_rate=max(0.0, rate - 1000.0),
            error_rate=0.0,
            latency_p99_ms=40.0,
        )

    search = KneeSearch(600, 20_000, CRITERIA)
    while not search.done:
        rate = search.next_rate()
        result = respond(rate)
        search.record(rate, judge(result, CRITERIA), result.accepted_rate)
    assert search.knee_accepted == pytest.approx(search.knee * 0.985)
    assert search.knee_accepted < search.knee
