"""Partition-key strategies: which shard each record lands on (Kinesis routes by MD5 of the key)."""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable

HOT_KEY = "hot-0"

KeyChooser = Callable[[str], str]  # event_id -> partition key


def uniform() -> KeyChooser:
    """The event id is the key: records spread evenly over the hash space."""
    return lambda event_id: event_id


def hot_key(share: float, rng: random.Random) -> KeyChooser:
    """`share` of the records use one key (one shard); the rest are uniform."""
    if not 0 < share < 1:
        raise ValueError(f"hot key share must be between 0 and 1, got {share}")
    return lambda event_id: HOT_KEY if rng.random() < share else event_id


def zipf_weights(key_count: int, exponent: float) -> list[float]:
    """Cumulative Zipf probabilities: key of rank k is chosen with p proportional to 1/k^s."""
    weights = [1.0 / (rank**exponent) for rank in range(1, key_count + 1)]
    total = sum(weights)
    return [w / total for w in itertools.accumulate(weights)]


def zipf(key_count: int, exponent: float, rng: random.Random) -> KeyChooser:
    cumulative = zipf_weights(key_count, exponent)
    last = key_count - 1

    def choose(_event_id: str) -> str:
        return f"key-{min(bisect.bisect_left(cumulative, rng.random()), last)}"

    return choose


def chooser(
    strategy: str, *, hot_key_share: float, zipf_s: float, key_count: int, seed: int
) -> KeyChooser:
    rng = random.Random(seed)  # noqa: S311 - load shape, not security
    if strategy == "uniform":
        return uniform()
    if strategy == "hot":
        return hot_key(hot_key_share, rng)
    if strategy == "zipf":
        return zipf(key_count, zipf_s, rng)
    raise ValueError(f"key strategy must be uniform, hot or zipf, got {strategy!r}")
