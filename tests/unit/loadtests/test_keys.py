import random
from collections import Counter

import pytest

from loadtests.keys import HOT_KEY, chooser, hot_key, zipf, zipf_weights
from pipeline.capacity import even_hash_ranges, partition_key_hash


def shard_of(key: str, ranges) -> int:
    digest = partition_key_hash(key)
    return next(i for i, (lo, hi) in enumerate(ranges) if lo <= digest <= hi)


def test_uniform_uses_the_event_id_as_key():
    choose = chooser("uniform", hot_key_share=0.5, zipf_s=1.1, key_count=10, seed=1)
    assert choose("run.p1.000000001") == "run.p1.000000001"


def test_hot_key_takes_its_share_of_records():
    choose = hot_key(0.5, random.Random(7))
    keys = [choose(f"e{i}") for i in range(20_000)]
    assert keys.count(HOT_KEY) / len(keys) == pytest.approx(0.5, abs=0.02)


def test_hot_key_on_four_shards_loads_one_shard_with_five_eighths():
    ranges = even_hash_ranges(4)
    choose = hot_key(0.5, random.Random(3))
    per_shard = Counter(shard_of(choose(f"event-{i}"), ranges) for i in range(40_000))
    hottest = max(per_shard.values()) / 40_000
    assert hottest == pytest.approx(0.5 + 0.5 / 4, abs=0.02)
    assert per_shard.most_common(1)[0][0] == shard_of(HOT_KEY, ranges)


def test_zipf_weights_are_cumulative_and_follow_the_exponent():
    weights = zipf_weights(3, 1.0)
    total = 1 + 1 / 2 + 1 / 3
    assert weights == pytest.approx([1 / total, 1.5 / total, 1.0])


def test_zipf_rank_one_is_chosen_most_and_frequencies_follow_one_over_k():
    choose = zipf(100, 1.0, random.Random(11))
    counts = Counter(choose("ignored") for _ in range(50_000))
    assert counts.most_common(1)[0][0] == "key-0"
    assert counts["key-0"] / counts["key-1"] == pytest.approx(2.0, rel=0.1)
    assert set(counts) <= {f"key-{i}" for i in range(100)}


def test_unknown_strategy_names_the_allowed_values():
    with pytest.raises(ValueError, match="key strategy must be uniform, hot or zipf, got 'round'"):
        chooser("round", hot_key_share=0.5, zipf_s=1.1, key_count=10, seed=1)
