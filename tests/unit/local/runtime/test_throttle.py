from pipeline.local.runtime.throttle import TokenBucket


def test_bucket_allows_the_burst_then_the_rate():
    now = [0.0]
    bucket = TokenBucket(rate_per_s=10, burst=5, clock=lambda: now[0])
    assert sum(bucket.try_take() for _ in range(8)) == 5
    now[0] = 0.5  # half a second refills 5 tokens
    assert sum(bucket.try_take() for _ in range(8)) == 5
    now[0] = 100.0  # never more than the burst
    assert sum(bucket.try_take() for _ in range(20)) == 5
