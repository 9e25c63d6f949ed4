"""The hot-shard verdict comes from what each shard took and refused."""

from __future__ import annotations

import csv

from reports import runfolder as rf
from reports import shards


def write_shards(path, per_shard: dict[str, tuple[int, int]]) -> None:
    with (path / rf.KINESIS_SHARDS_CSV).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(rf.KINESIS_SHARDS_COLUMNS)
        for second in (100, 101):
            for shard, (incoming, refused) in per_shard.items():
                writer.writerow([second, 1, shard, "IncomingRecords", "Sum", incoming / 2])
                writer.writerow(
                    [second, 1, shard, "WriteProvisionedThroughputExceeded", "Sum", refused / 2]
                )
                writer.writerow([second, 1, shard, "IteratorAgeMilliseconds", "Maximum", 9e9])


def test_one_shard_taking_most_records_and_throttles_is_named(tmp_path):
    write_shards(
        tmp_path,
        {
            "shardId-0": (400, 0),
            "shardId-1": (2000, 600),
            "shardId-2": (400, 0),
            "shardId-3": (400, 0),
        },
    )
    hot = shards.hot_shard_of_run(tmp_path)
    assert hot is not None
    assert (hot.shard_id, hot.shards) == ("shardId-1", 4)
    assert hot.share == 2600 / 3800 and hot.throttle_share == 1.0
    assert hot.evidence() == (
        "shard shardId-1 took 68% of the stream's records (an even share of 4 shards is 25%)"
        " and 100% of its write throttles (shard-level metrics)"
    )


def test_evenly_loaded_shards_throttling_together_are_not_a_hot_shard(tmp_path):
    write_shards(tmp_path, {"shardId-0": (1000, 300), "shardId-1": (1000, 280)})
    assert shards.hot_shard_of_run(tmp_path) is None


def test_no_throttles_or_no_file_is_no_verdict(tmp_path):
    assert shards.hot_shard_of_run(tmp_path) is None
    write_shards(tmp_path, {"shardId-0": (2000, 0), "shardId-1": (10, 0)})
    assert shards.hot_shard_of_run(tmp_path) is None


def test_a_shard_throttled_while_it_was_the_only_one_open_is_the_stream_limit_not_a_hot_key(
    tmp_path,
):
    # GIVEN a stream resharded 1 -> 2 -> 1: the parent throttled while it was alone, its
    # children and the merged shard took the rest of the run without a throttle
    with (tmp_path / rf.KINESIS_SHARDS_CSV).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(rf.KINESIS_SHARDS_COLUMNS)
        rows = [(100, "shardId-0", 1000, 160)]
        rows += [(second, "shardId-1", 400, 0) for second in (200, 201)]
        rows += [(second, "shardId-2", 400, 0) for second in (200, 201)]
        rows += [(300, "shardId-3", 800, 0)]
        for second, shard, incoming, refused in rows:
            writer.writerow([second, 1, shard, "IncomingRecords", "Sum", incoming])
            writer.writerow(
                [second, 1, shard, "WriteProvisionedThroughputExceeded", "Sum", refused]
            )
    # WHEN the verdict is drawn THEN no shard is called hot: one shard was open when it throttled
    assert shards.hot_shard_of_run(tmp_path) is None
