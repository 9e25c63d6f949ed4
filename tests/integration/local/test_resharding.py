"""UpdateShardCount through the gateway: AWS's rules and messages, the stream UPDATING
meanwhile, parents closed and children open, the limiter routing to the new shards."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from pipeline import aws_limits as L
from pipeline import capacity
from pipeline.local.aws import GatewayHandle
from tests.integration.local.conftest import NO_RETRIES, client_for
from tests.integration.local.test_kinesis_limits import DEADLINE_S, create_stream

pytestmark = pytest.mark.integration


def reshard(kinesis, name: str, target: int) -> tuple[dict, list[str]]:
    """UpdateShardCount, then poll until ACTIVE; returns the reply and the statuses seen."""
    reply = kinesis.update_shard_count(
        StreamName=name, TargetShardCount=target, ScalingType="UNIFORM_SCALING"
    )
    seen = []
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        status = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
            "StreamStatus"
        ]
        seen.append(status)
        if status == "ACTIVE":
            return reply, seen
        time.sleep(0.02)
    raise AssertionError(f"{name} still {seen[-1]} after {DEADLINE_S} s")


def update_call(kinesis, name: str, target: int, scaling: str = "UNIFORM_SCALING"):
    return lambda: kinesis.update_shard_count(
        StreamName=name, TargetShardCount=target, ScalingType=scaling
    )


def open_shards(kinesis, name: str) -> list[dict]:
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    return [s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]]


def error_of(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as excinfo:
        call()
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_doubling_then_halving_gives_even_open_shards_and_closes_the_parents(aws):
    kinesis = aws("kinesis")
    name = create_stream(kinesis, shards=2)
    reply, seen = reshard(kinesis, name, 4)
    assert (reply["CurrentShardCount"], reply["TargetShardCount"]) == (2, 4)
    assert reply["StreamName"] == name
    assert seen[-1] == "ACTIVE"
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    opened = open_shards(kinesis, name)
    ranges = [
        (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
        for s in sorted(opened, key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]))
    ]
    assert ranges == capacity.even_hash_ranges(4)
    closed = [s["ShardId"] for s in shards if "EndingSequenceNumber" in s["SequenceNumberRange"]]
    assert len(closed) == 2
    assert {s["ParentShardId"] for s in opened} == set(closed)

    reply, _ = reshard(kinesis, name, 2)
    assert (reply["CurrentShardCount"], reply["TargetShardCount"]) == (4, 2)
    halved = open_shards(kinesis, name)
    assert len(halved) == 2
    assert all("AdjacentParentShardId" in s for s in halved)  # each merged from two shards


def test_stream_reads_updating_while_resharding_and_refuses_a_second_call(aws):
    kinesis = aws("kinesis")
    name = create_stream(kinesis, shards=8)
    kinesis.update_shard_count(StreamName=name, TargetShardCount=16, ScalingType="UNIFORM_SCALING")
    status = kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamStatus"]
    code, message = error_of(update_call(kinesis, name, 4))
    # eight splits take longer than one round trip: both calls land while it runs
    assert status == "UPDATING"
    assert code == "ResourceInUseException"
    assert (
        message == f"Stream {name} under account 000000000000 not ACTIVE, instead in state UPDATING"
    )
    deadline = time.monotonic() + DEADLINE_S
    while (
        kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]
        != "ACTIVE"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert len(open_shards(kinesis, name)) == 16


def test_more_than_double_or_less_than_half_is_refused_with_aws_messages(aws):
    kinesis = aws("kinesis")
    name = create_stream(kinesis, shards=2)
    assert error_of(update_call(kinesis, name, 5)) == (
        "LimitExceededException",
        "UpdateShardCount cannot scale up over double your current open shard count. "
        "Current open shard count: 2, Target shard count: 5",
    )
    reshard(kinesis, name, 4)
    assert error_of(update_call(kinesis, name, 1)) == (
        "LimitExceededException",
        "UpdateShardCount cannot scale down below half your current open shard count. "
        "Current open shard count: 4, Target shard count: 1",
    )
    assert len(open_shards(kinesis, name)) == 4  # nothing changed


def test_target_zero_and_unknown_scaling_type_are_validation_errors(gateway: GatewayHandle):
    # botocore checks the minimum itself: switch that off to see what the server answers
    kinesis = client_for(gateway, "kinesis")
    unvalidated = boto3.client(
        "kinesis",
        endpoint_url=gateway.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=NO_RETRIES.merge(Config(parameter_validation=False)),
    )
    name = create_stream(kinesis, shards=1)
    assert error_of(update_call(unvalidated, name, 0)) == (
        "ValidationException",
        "1 validation error detected: Value '0' at 'targetShardCount' failed to satisfy "
        "constraint: Member must have value greater than or equal to 1",
    )
    assert error_of(update_call(unvalidated, name, 2, "SKEWED")) == (
        "ValidationException",
        "1 validation error detected: Value 'SKEWED' at 'scalingType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [UNIFORM_SCALING]",
    )


def test_the_eleventh_call_in_24_hours_is_refused(aws):
    kinesis = aws("kinesis")
    name = create_stream(kinesis, shards=1)
    for call in range(L.KINESIS_UPDATE_SHARD_COUNT_CALLS_PER_WINDOW):
        reshard(kinesis, name, 2 if call % 2 == 0 else 1)
    code, message = error_of(update_call(kinesis, name, 2))
    assert code == "LimitExceededException"
    assert f"stream {name}" in message
    assert "at most 10 per rolling 24-hour period" in message
    assert len(open_shards(kinesis, name)) == 1


def test_on_demand_stream_cannot_be_resharded(aws):
    kinesis = aws("kinesis")
    name = create_stream(kinesis, on_demand=True)
    code, message = error_of(update_call(kinesis, name, 8))
    assert code == "ValidationException"
    assert "PROVISIONED" in message


def test_after_a_split_the_limiter_judges_writes_by_the_child_shards(aws):
    # GIVEN one shard split into two
    kinesis = aws("kinesis")
    name = create_stream(kinesis, shards=1)
    reshard(kinesis, name, 2)
    parent = next(
        s["ShardId"]
        for s in kinesis.list_shards(StreamName=name)["Shards"]
        if "EndingSequenceNumber" in s["SequenceNumberRange"]
    )
    for child in open_shards(kinesis, name):
        # WHEN records aimed at one child arrive faster than 1,000 a second
        key = child["HashKeyRange"]["StartingHashKey"]
        records = [{"Data": b"x", "PartitionKey": "k", "ExplicitHashKey": key}] * 500
        throttled: list[dict] = []
        for _ in range(20):
            results = kinesis.put_records(StreamName=name, Records=records)["Records"]
            throttled = [r for r in results if "ErrorCode" in r]
            if throttled:
                break
        # THEN the throttle names the child shard, not the closed parent
        assert throttled, "1,000 records/s per shard never throttled"
        assert throttled[0]["ErrorMessage"] == (
            f"Rate exceeded for shard {child['ShardId']} in stream {name} "
            "under account 000000000000."
        )
        assert parent not in throttled[0]["ErrorMessage"]
