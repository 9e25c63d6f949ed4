"""Kinesis over CBOR, as the AWS SDK for Java, the KCL and the KPL call it: put, read and be
throttled through the gateway exactly as with JSON, with AWS's CBOR types and CBOR errors."""

from __future__ import annotations

import time

import cbor2
import pytest

from pipeline.local.aws import kinesis_cbor
from tests.integration.local import cbor_client
from tests.integration.local.conftest import unique

pytestmark = pytest.mark.integration


@pytest.fixture
def stream(gateway) -> str:
    name = unique("cbor")
    reply = cbor_client.call(
        gateway.endpoint_url, "CreateStream", {"StreamName": name, "ShardCount": 1}
    )
    assert reply.status == 200, reply.data
    assert reply.content_type == cbor_client.CONTENT_TYPE
    time.sleep(0.2)
    return name


def read_all(endpoint: str, name: str, iterator_request: dict | None = None) -> list[dict]:
    request = iterator_request or {
        "StreamName": name,
        "ShardId": "shardId-000000000000",
        "ShardIteratorType": "TRIM_HORIZON",
    }
    iterator = cbor_client.call(endpoint, "GetShardIterator", request).data["ShardIterator"]
    reply = cbor_client.call(endpoint, "GetRecords", {"ShardIterator": iterator, "Limit": 100})
    assert reply.status == 200, reply.data
    assert reply.content_type == cbor_client.CONTENT_TYPE
    return reply.data["Records"]


def test_a_cbor_producer_and_consumer_round_trip_blobs_and_timestamps(gateway, aws, stream):
    endpoint = gateway.endpoint_url
    before = time.time()
    put = cbor_client.call(
        endpoint,
        "PutRecord",
        {"StreamName": stream, "Data": b"\x00\xffbinary", "PartitionKey": "a"},
    )
    assert put.status == 200 and put.data["ShardId"] == "shardId-000000000000"
    batch = cbor_client.call(
        endpoint,
        "PutRecords",
        {
            "StreamName": stream,
            "Records": [{"Data": b"r%d" % n, "PartitionKey": "b"} for n in range(3)],
        },
    )
    assert batch.status == 200 and batch.data["FailedRecordCount"] == 0
    aws("kinesis").put_record(StreamName=stream, Data=b"from json", PartitionKey="c")

    records = read_all(endpoint, stream)
    assert [r["Data"] for r in records] == [b"\x00\xffbinary", b"r0", b"r1", b"r2", b"from json"]
    stamp = records[0]["ApproximateArrivalTimestamp"]
    # AWS's CBOR timestamp, as the Java SDK reads it: tag 1 holding epoch milliseconds.
    assert isinstance(stamp, kinesis_cbor.EpochTag) and isinstance(stamp.value, int)
    assert before * 1000 - 2000 <= stamp.value <= time.time() * 1000 + 2000
    # What CBOR wrote, a JSON client reads back byte for byte.
    shard_iterator = aws("kinesis").get_shard_iterator(
        StreamName=stream, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    json_records = aws("kinesis").get_records(ShardIterator=shard_iterator)["Records"]
    assert [r["Data"] for r in json_records] == [r["Data"] for r in records]


def test_at_timestamp_iterators_take_java_millisecond_timestamps(gateway, stream):
    endpoint = gateway.endpoint_url
    cbor_client.call(
        endpoint, "PutRecord", {"StreamName": stream, "Data": b"old", "PartitionKey": "k"}
    )
    time.sleep(1.1)
    middle = time.time()
    time.sleep(0.1)
    cbor_client.call(
        endpoint, "PutRecord", {"StreamName": stream, "Data": b"new", "PartitionKey": "k"}
    )
    records = read_all(
        endpoint,
        stream,
        {
            "StreamName": stream,
            "ShardId": "shardId-000000000000",
            "ShardIteratorType": "AT_TIMESTAMP",
            "Timestamp": cbor_client.java_timestamp(middle),
        },
    )
    assert [r["Data"] for r in records] == [b"new"]


def test_describe_and_list_answer_timestamps_in_cbor_types(gateway, stream):
    summary = cbor_client.call(
        gateway.endpoint_url, "DescribeStreamSummary", {"StreamName": stream}
    )
    description = summary.data["StreamDescriptionSummary"]
    assert description["StreamStatus"] == "ACTIVE"
    assert description["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert isinstance(description["StreamCreationTimestamp"], kinesis_cbor.EpochTag)
    names = cbor_client.call(gateway.endpoint_url, "ListStreams", {}).data["StreamNames"]
    assert stream in names


def test_a_cbor_producer_is_throttled_per_record_like_a_json_one(gateway, stream):
    endpoint = gateway.endpoint_url
    # One call is judged at one instant: two 600 KB records overflow the shard's 1 MiB/s.
    big = [{"Data": b"x" * 600_000, "PartitionKey": f"k{n}"} for n in range(2)]
    reply = cbor_client.call(endpoint, "PutRecords", {"StreamName": stream, "Records": big})
    assert reply.status == 200
    assert reply.data["FailedRecordCount"] == 1
    ok, refused = reply.data["Records"]
    assert ok["ShardId"] == "shardId-000000000000"
    assert refused == {
        "ErrorCode": "ProvisionedThroughputExceededException",
        "ErrorMessage": f"Rate exceeded for shard shardId-000000000000 in stream {stream} "
        "under account 000000000000.",
    }
    one = cbor_client.call(
        endpoint, "PutRecord", {"StreamName": stream, "Data": b"y" * 600_000, "PartitionKey": "k"}
    )
    if one.status != 200:  # still the same second as the first call
        assert one.status == 400
        assert one.content_type == cbor_client.CONTENT_TYPE
        assert one.error_type == "ProvisionedThroughputExceededException"
    assert [r["Data"][:1] for r in read_all(endpoint, stream)] == [b"x"] + (
        [b"y"] if one.status == 200 else []
    )


@pytest.mark.parametrize(
    ("operation", "payload", "raw_body", "error_type", "message_part"),
    [
        (
            "PutRecord",
            {"StreamName": "no-such-stream", "Data": b"x", "PartitionKey": "k"},
            None,
            "ResourceNotFoundException",
            "Stream no-such-stream under account 000000000000 not found.",
        ),
        (
            "PutRecord",
            {"StreamName": "s", "Data": b"x", "PartitionKey": "k" * 257},
            None,
            "ValidationException",
            "Member must have length less than or equal to 256",
        ),
        ("Explode", {}, None, "UnknownOperationException", None),
        ("ListStreams", None, b"\xff\x00garbage", "SerializationException", None),
        ("ListStreams", None, b"", "SerializationException", None),
    ],
)
def test_cbor_errors_are_cbor_with_aws_types(
    gateway, operation, payload, raw_body, error_type, message_part
):
    reply = cbor_client.call(gateway.endpoint_url, operation, payload, raw_body=raw_body)
    assert reply.status == 400
    assert reply.content_type == cbor_client.CONTENT_TYPE
    data = reply.data
    assert data["__type"] == error_type
    if message_part is None:
        assert "message" not in data
    else:
        assert message_part in data["message"]


def test_cbor_tags_the_engine_cannot_store_are_refused_not_corrupted(gateway, stream):
    reply = cbor_client.call(
        gateway.endpoint_url,
        "PutRecord",
        {"StreamName": stream, "Data": cbor2.CBORTag(1, 5), "PartitionKey": "k"},
    )
    assert reply.status == 400
    assert reply.content_type == cbor_client.CONTENT_TYPE
    assert reply.error_type in ("SerializationException", "ValidationException")


def test_a_cbor_consumer_is_throttled_past_5_reads_per_shard_per_second(gateway, stream):
    endpoint = gateway.endpoint_url
    iterator = cbor_client.call(
        endpoint,
        "GetShardIterator",
        {"StreamName": stream, "ShardId": "shardId-000000000000", "ShardIteratorType": "LATEST"},
    ).data["ShardIterator"]
    throttled = None
    for _ in range(40):  # 5 calls a second pass; a busy machine may spread them over seconds
        reply = cbor_client.call(endpoint, "GetRecords", {"ShardIterator": iterator})
        if reply.status != 200:
            throttled = reply
            break
        iterator = reply.data["NextShardIterator"]
    assert throttled is not None, "40 GetRecords calls on one shard were never throttled"
    assert throttled.status == 400
    assert throttled.content_type == cbor_client.CONTENT_TYPE
    assert throttled.data == {
        "__type": "ProvisionedThroughputExceededException",
        "message": f"Rate exceeded for Shard - 000000000000/{stream}/shardId-000000000000",
    }
