import math

import pytest

from loadtests.pacing import MIN_CALLS_PER_S, Pacer, calls_per_second, units_in_slot


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_calls_per_second_uses_full_batches_at_high_rates():
    assert calls_per_second(1000, 100) == 10
    assert calls_per_second(5000, 100) == 50


def test_calls_per_second_keeps_a_floor_of_small_calls_at_low_rates():
    assert calls_per_second(50, 100) == MIN_CALLS_PER_S
    assert calls_per_second(3, 100) == 3  # never fewer than one unit a call
    assert calls_per_second(0, 100) == 0


@pytest.mark.parametrize(("rate", "batch"), [(1000, 100), (333, 25), (7, 500), (1234.5, 100)])
def test_slots_carry_exactly_the_rate(rate, batch):
    calls = calls_per_second(rate, batch)
    slots = int(calls * 10)  # ten seconds of slots
    total = sum(units_in_slot(i, rate, calls) for i in range(slots))
    assert total == math.floor(slots * rate / calls + 1e-9)  # what those slots' time holds
    assert total == pytest.approx(rate * 10, abs=batch)
    assert all(units_in_slot(i, rate, calls) <= batch for i in range(slots))


def test_intended_starts_are_evenly_spaced_from_the_rate_change():
    clock = FakeClock(1000.0)
    pacer = Pacer(max_units_per_call=100, clock=clock)
    pacer.set_rate(1000)
    slots = [pacer.take() for _ in range(5)]
    assert [s.intended_at for s in slots] == pytest.approx([1000.0, 1000.1, 1000.2, 1000.3, 1000.4])
    assert {s.units for s in slots} == {100}


def test_a_late_taker_gets_the_slot_in_the_past_so_latency_counts_the_wait():
    clock = FakeClock(1000.0)
    pacer = Pacer(max_units_per_call=1, clock=clock)
    pacer.set_rate(10)
    clock.now = 1003.0  # every user was busy for 3 s
    slot = pacer.take()
    assert slot.intended_at == 1000.0
    assert pacer.lag() == pytest.approx(2.9)


def test_rate_change_reanchors_and_counts_untaken_slots_as_missed():
    clock = FakeClock(1000.0)
    pacer = Pacer(max_units_per_call=10, clock=clock)
    pacer.set_rate(100)  # 10 calls/s of 10 records
    pacer.take()
    clock.now = 1001.0
    pacer.set_rate(200)
    assert pacer.missed_units == 90
    assert pacer.take().intended_at == 1001.0


def test_zero_rate_gives_no_slot():
    pacer = Pacer(max_units_per_call=10, clock=FakeClock())
    pacer.set_rate(0)
    assert pacer.take() is None


def test_probe_polls_get_coarser_as_the_wait_grows_so_a_lagging_consumer_is_not_buried():
    from loadtests.pacing import poll_interval

    # a fresh probe polls every 0.25 s: produced->readable is measured to 0.25 s
    assert poll_interval(0.0) == 0.25
    # at the 8 s end-to-end limit the resolution is still within 5% of the figure
    assert poll_interval(8.0) == pytest.approx(0.4)
    # a probe that waits 30 s polls every 1.5 s, never sparser than every 2 s
    assert poll_interval(30.0) == pytest.approx(1.5)
    assert poll_interval(600.0) == 2.0
