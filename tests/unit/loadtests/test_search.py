import pytest

from loadtests.scenarios import Search
from loadtests.search import KneeSearch, ProbeResult, judge, latency_growth

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


# -- a consumer that falls behind: produced->readable's trend ------------------------------


def consumer_with_capacity(capacity: float, probes_per_s: float = 1.0, seconds: int = 7, seed=1):
    """Kinesis takes every record; the consumer stores `capacity` records/s. What becomes
    readable t s into the probe was sent capacity / rate x t in: it waited base +
    (1 - capacity / rate) x t, the backlog's age (with jitter)."""
    import random

    jitter = random.Random(seed)

    def respond(rate: float) -> ProbeResult:
        behind = max(1 - capacity / rate, 0.0)
        readable = [i / probes_per_s for i in range(int(seconds * probes_per_s))]
        points = [(t, 1.0 + behind * t + jitter.uniform(-0.3, 0.3), 1) for t in readable]
        growth = latency_growth(points)
        return ProbeResult(
            target_rate=rate,
            offered_rate=rate,
            accepted_rate=rate,
            throttled_rate=0,
            error_rate=0,
            latency_p99_ms=30,
            e2e_p95_ms=max(y for _, y, _ in points) * 1000,
            e2e_growth=growth,
        )

    return respond


def test_a_straight_line_of_latencies_gives_its_slope():
    growth = latency_growth([(t, 2.0 + 0.25 * t, 1) for t in range(10)])
    assert growth.per_s == pytest.approx(0.25)
    assert growth.stderr == pytest.approx(0.0, abs=1e-9) and growth.significant
    # a second's mean weighs its probes: the same slope as fitting each probe
    weighted = latency_growth([(0, 1.0, 3), (1, 1.5, 1), (2, 2.0, 2)])
    each = latency_growth([(0, 1.0, 1)] * 3 + [(1, 1.5, 1)] + [(2, 2.0, 1)] * 2)
    assert weighted.per_s == pytest.approx(each.per_s)
    assert weighted.samples == 6


def test_too_few_probes_give_no_trend():
    assert latency_growth([(0, 1.0, 1), (1, 1.2, 1), (2, 1.1, 1)]) is None
    assert latency_growth([(0, 1.0, 4), (1, 1.2, 4)]) is None  # two seconds: no line


def test_a_consumer_falling_behind_fails_the_probe_before_the_backlog_is_8_s_old():
    # GIVEN a consumer storing 200 records/s, 45% over it for 7 s: the backlog is ~3 s old
    result = consumer_with_capacity(200)(290)
    assert result.e2e_p95_ms < CRITERIA.e2e_limit_ms  # the absolute limit alone passes it
    # WHEN judged THEN the trend fails it and says by how much
    verdict = judge(result, CRITERIA)
    assert not verdict.sustained
    assert "produced->readable grew" in verdict.reasons[0]
    assert "stored about 3" in verdict.reasons[0]  # 90 of 290 records/s: 31%


def test_jitter_at_a_rate_the_consumer_carries_does_not_fail_the_probe():
    for seed in range(20):
        assert judge(consumer_with_capacity(200, seed=seed)(190), CRITERIA).sustained


@pytest.mark.parametrize("probes_per_s", [1.0, 4.0])
def test_a_consumer_bound_knee_is_found_from_the_trend(probes_per_s):
    respond = consumer_with_capacity(200, probes_per_s, seconds=10)
    search, _ = search_knee(respond, 100)
    assert search.done
    assert 200 * 0.95 <= search.knee <= 200 * 1.05
