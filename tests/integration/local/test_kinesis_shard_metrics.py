"""The gateway publishes Kinesis's shard-level metrics (dimensions StreamName and ShardId), and
they agree with what the producer saw: each shard's IncomingRecords is what boto3 got
acknowledged on that shard, its WriteProvisionedThroughputExceeded what was refused there."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from tests.integration.local.conftest import per_second, unique
from tests.integration.local.test_kinesis_limits import create_stream

pytestmark = pytest.mark.integration


def shard_sum(cloudwatch, metric: str, stream: str, shard_id: str, since: float) -> float:
    dims = {"StreamName": stream, "ShardId": shard_id}
    return sum(per_second(cloudwatch, "AWS/Kinesis", metric, dims, since).values())


def test_shard_level_metrics_match_what_the_producer_saw_per_shard(aws):
    kinesis, cloudwatch = aws("kinesis"), aws("cloudwatch")
    name = create_stream(kinesis, shards=2)
    since = time.time()
    hot = unique("hot")
    accepted: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    shard_of_hot = None
    deadline = time.monotonic() + 30
    # the hot key alone asks for more than its shard takes a second, until it refuses some
    while time.monotonic() < deadline and not (shard_of_hot and refused[shard_of_hot]):
        records = [{"Data": b"h", "PartitionKey": hot}] * 400
        records += [{"Data": b"c", "PartitionKey": f"cold-{i}"} for i in range(100)]
        reply = kinesis.put_records(StreamName=name, Records=records)
        for record, entry in zip(records, reply["Records"], strict=True):
            if "ShardId" in entry:
                accepted[entry["ShardId"]] += 1
                if record["PartitionKey"] == hot:
                    shard_of_hot = entry["ShardId"]
            else:
                shard = entry["ErrorMessage"].split("shard ", 1)[1].split(" ", 1)[0]
                refused[shard] += 1
    assert shard_of_hot is not None and refused[shard_of_hot] > 0
    time.sleep(1.5)  # the last second closes
    shards = [s["ShardId"] for s in kinesis.list_shards(StreamName=name)["Shards"]]
    for shard_id in shards:
        assert (
            shard_sum(cloudwatch, "IncomingRecords", name, shard_id, since) == accepted[shard_id]
        ), shard_id
        assert (
            shard_sum(cloudwatch, "WriteProvisionedThroughputExceeded", name, shard_id, since)
            == refused[shard_id]
        ), shard_id
    stream_total = sum(
        per_second(
            cloudwatch, "AWS/Kinesis", "IncomingRecords", {"StreamName": name}, since
        ).values()
    )
    assert stream_total == sum(accepted.values())  # the stream's series is not double counted


def test_reads_publish_outgoing_records_and_iterator_age_per_shard(aws):
    kinesis, cloudwatch = aws("kinesis"), aws("cloudwatch")
    name = create_stream(kinesis)
    since = time.time()
    kinesis.put_records(StreamName=name, Records=[{"Data": b"r", "PartitionKey": "k"}] * 7)
    shard_id = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName=name, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    got = kinesis.get_records(ShardIterator=iterator)["Records"]
    assert len(got) == 7
    time.sleep(1.5)
    assert shard_sum(cloudwatch, "OutgoingRecords", name, shard_id, since) == 7
    assert shard_sum(cloudwatch, "OutgoingBytes", name, shard_id, since) == 7 * (1 + 1)
