import pytest

from loadtests.timeline import E2E_PROBE, PUT_RECORDS, Timeline, new_histogram, record_ms


def test_window_sums_counts_and_merges_latency():
    timeline = Timeline()
    for second in range(10):
        timeline.record(
            PUT_RECORDS, 100 + second + 0.5, 10 + second, calls=1, offered=100, accepted=90
        )
    window = timeline.window([PUT_RECORDS], 102, 107)
    assert window.counts["offered"] == 500
    assert window.rate("accepted") == 90
    assert window.samples == 5
    assert window.max_ms == pytest.approx(16, abs=1)


def test_worker_deltas_merge_to_the_same_percentiles_as_one_histogram():
    workers = [Timeline(ship=True) for _ in range(3)]
    reference = new_histogram()
    for index, worker in enumerate(workers):
        for value in range(1, 1001):
            latency = value * (index + 1)
            worker.record(PUT_RECORDS, 50.2, latency, calls=1, offered=1)
            record_ms(reference, latency)
    master = Timeline()
    for worker in workers:
        master.merge(worker.drain())
        assert worker.drain() == []  # shipped deltas are reset
    window = master.window([PUT_RECORDS], 50, 51)
    assert window.counts["offered"] == 3000
    for p in (50, 95, 99):
        assert window.percentile(p) == reference.get_value_at_percentile(p)


def test_merging_twice_into_the_same_second_adds_up():
    worker, master = Timeline(ship=True), Timeline()
    worker.record(PUT_RECORDS, 10.0, 5, calls=1, throttled=2)
    master.merge(worker.drain())
    worker.record(PUT_RECORDS, 10.9, 7, calls=1, throttled=3)
    master.merge(worker.drain())
    window = master.window([PUT_RECORDS], 10, 11)
    assert window.counts["throttled"] == 5
    assert window.samples == 2


def test_second_means_give_each_seconds_mean_latency_and_count_for_the_trend():
    timeline = Timeline()
    timeline.record(E2E_PROBE, 100.2, 1000, calls=1)
    timeline.record(E2E_PROBE, 100.7, 3000, calls=1)
    timeline.record(E2E_PROBE, 102.1, 1500, calls=1)
    timeline.record(PUT_RECORDS, 101.0, 50, calls=1)  # another type: not a probe
    timeline.record(E2E_PROBE, 103.0, None, calls=1, errors=1)  # never readable: no latency
    means = timeline.second_means(E2E_PROBE, 100, 104)
    assert [(s, n) for s, _, n in means] == [(100, 2), (102, 1)]
    assert means[0][1] == pytest.approx(2000, rel=0.01)
    assert timeline.second_means(E2E_PROBE, 101, 102) == []
