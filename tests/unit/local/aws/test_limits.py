"""The rate limiters, driven by a fake clock."""

from __future__ import annotations

from pipeline import aws_limits as L
from pipeline.local.aws.limits import PeakTracker, SecondWindow, TokenBucket


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_second_window_counts_per_clock_second_and_resets_on_the_next():
    clock = Clock(1000.2)
    window = SecondWindow((1000, L.MIB), clock)
    assert all(window.try_take(1, 100) for _ in range(1000))
    assert not window.try_take(1, 100)  # the 1,001st record
    clock.now = 1000.99
    assert not window.try_take(1, 1)
    clock.now = 1001.0  # aligned to the wall-clock second, not to the first call
    assert window.try_take(1, 100)


def test_second_window_bytes_limit_judges_each_amount_on_its_own():
    window = SecondWindow((1000, 1000), Clock())
    assert window.try_take(1, 900)
    assert not window.try_take(1, 200)  # does not fit ...
    assert window.try_take(1, 100)  # ... but a smaller one still does
    assert window.used == [2, 1000]
    assert window.fits(0, 0) and not window.fits(0, 1)


def test_token_bucket_starts_full_refills_at_rate_and_caps_at_burst():
    clock = Clock()
    bucket = TokenBucket(rate=10, burst_seconds=300, clock=clock)
    assert bucket.available() == 3000
    bucket.debit(3000)
    assert not bucket.has_capacity()
    clock.now += 0.5
    assert bucket.available() == 5
    clock.now += 10_000
    assert bucket.available() == 3000


def test_token_bucket_debt_blocks_until_repaid_like_a_10_mib_get_records():
    clock = Clock()
    bucket = TokenBucket(rate=L.KINESIS_SHARD_READ_BYTES_PER_S, burst_seconds=1, clock=clock)
    assert bucket.has_capacity()
    bucket.debit(L.KINESIS_GET_RECORDS_MAX_BYTES)  # 10 MiB read in one call: 8 MiB in debt
    clock.now += 3.9
    assert not bucket.has_capacity()
    clock.now += 0.2  # 4 s repay 8 MiB at 2 MiB/s
    assert bucket.has_capacity()


def test_token_bucket_resize_keeps_the_balance_within_the_new_size():
    clock = Clock()
    bucket = TokenBucket(rate=100, burst_seconds=1, clock=clock)
    bucket.resize(rate=10, burst_seconds=1)
    assert bucket.available() == 10
    assert bucket.size == 10


def test_peak_tracker_allows_the_initial_rate_then_twice_the_previous_peak():
    clock = Clock(5000.0)
    peak = PeakTracker(initial=4000, multiplier=2, window_s=1800, clock=clock)
    assert peak.try_take(4000)
    assert not peak.try_take(1)
    clock.now += 1
    assert peak.allowed() == 8000
    assert peak.try_take(8000) and not peak.try_take(1)
    clock.now += 1
    assert peak.allowed() == 16_000
    clock.now += 1801  # the peaks aged out of the window
    assert peak.allowed() == 4000
