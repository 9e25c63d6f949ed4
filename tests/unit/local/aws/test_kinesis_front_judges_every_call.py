"""The Kinesis front judges every call itself: a call failing validation never reaches the
engine, a record outside the cached shard map reloads it, an iterator names its shard."""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

import pytest

from pipeline import aws_limits as L
from pipeline.local.aws import kinesis as kinesis_module
from pipeline.local.aws.cloudwatch import MetricStore
from pipeline.local.aws.errors import AwsError
from pipeline.local.aws.kinesis import KinesisFront
from pipeline.local.aws.limits import SecondWindow
from pipeline.local.aws.protocol import Response, json_response

HALF = L.KINESIS_HASH_KEY_SPACE // 2
A_SECOND = 1_800_000_000.25


@pytest.fixture
def frozen_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every window judges the same second, so a test never straddles two."""
    monkeypatch.setattr(kinesis_module.time, "time", lambda: A_SECOND)
    monkeypatch.setattr(
        kinesis_module, "SecondWindow", functools.partial(SecondWindow, clock=lambda: A_SECOND)
    )


def shard(shard_id: str, start: int, end: int) -> dict[str, Any]:
    return {
        "ShardId": shard_id,
        "HashKeyRange": {"StartingHashKey": str(start), "EndingHashKey": str(end)},
        "SequenceNumberRange": {"StartingSequenceNumber": "1"},
    }


class FakeEngine:
    """Answers ListShards from a list of maps (one per call, the last repeats); records the
    write calls it was asked to forward."""

    def __init__(self, maps: list[list[dict[str, Any]]]) -> None:
        self.maps = maps
        self.list_calls = 0
        self.forwarded: list[tuple[str, dict[str, Any]]] = []

    def call_json(self, operation: str, prefix: str, request: dict[str, Any]) -> dict[str, Any]:
        assert operation == "ListShards"
        shards = self.maps[min(self.list_calls, len(self.maps) - 1)]
        self.list_calls += 1
        return {"Shards": shards}

    def call(self, target: str, body: bytes, auth: str | None = None) -> Response:
        request = json.loads(body)
        self.forwarded.append((target, request))
        operation = target.rsplit(".", 1)[-1]
        if operation == "PutRecords":
            records = [{"SequenceNumber": "1", "ShardId": "x"} for _ in request["Records"]]
            return json_response({"FailedRecordCount": 0, "Records": records}, "application/json")
        if operation == "PutRecord":
            return json_response({"SequenceNumber": "1", "ShardId": "x"}, "application/json")
        if operation == "GetShardIterator":
            return json_response({"ShardIterator": "ENGINEITER=="}, "application/json")
        if operation == "GetRecords":
            return json_response(
                {"Records": [], "NextShardIterator": "NEXT==", "MillisBehindLatest": 0},
                "application/json",
            )
        raise AssertionError(target)


def front(engine: FakeEngine) -> KinesisFront:
    return KinesisFront(engine, MetricStore(), limits_enabled=True)  # type: ignore[arg-type]


def put_records(kinesis: KinesisFront, records: list[dict[str, Any]]) -> Response:
    request = {"StreamName": "s", "Records": records}
    return kinesis.handle("PutRecords", json.dumps(request).encode(), request, "auth")


def record(key: str = "k", data: bytes = b"x", **extra: str) -> dict[str, Any]:
    return {"PartitionKey": key, "Data": base64.b64encode(data).decode(), **extra}


def test_one_invalid_record_fails_the_whole_call_with_aws_wording_and_writes_nothing():
    engine = FakeEngine([[shard("shardId-0", 0, L.KINESIS_HASH_KEY_SPACE - 1)]])
    records = [record(str(i)) for i in range(499)] + [record("k" * 257)]
    with pytest.raises(AwsError) as caught:
        put_records(front(engine), records)
    assert caught.value.code == "ValidationException"
    assert caught.value.status == 400
    assert caught.value.message == (
        f"1 validation error detected: Value '{'k' * 257}' at 'records.500.member.partitionKey'"
        " failed to satisfy constraint: Member must have length less than or equal to 256"
    )
    assert engine.forwarded == []


def test_every_problem_of_the_call_is_named():
    engine = FakeEngine([[shard("shardId-0", 0, L.KINESIS_HASH_KEY_SPACE - 1)]])
    records = [record(""), record("ok", ExplicitHashKey="12a")]
    with pytest.raises(AwsError) as caught:
        put_records(front(engine), records)
    message = caught.value.message
    assert message.startswith("2 validation errors detected: ")
    assert "'records.1.member.partitionKey'" in message
    assert "'records.2.member.explicitHashKey'" in message
    assert "0|([1-9]\\d{0,38})" in message
    assert engine.forwarded == []


def test_hash_key_past_the_key_space_is_invalid_argument():
    engine = FakeEngine([[shard("shardId-0", 0, L.KINESIS_HASH_KEY_SPACE - 1)]])
    request = {"StreamName": "s", **record(ExplicitHashKey=str(L.KINESIS_HASH_KEY_SPACE))}
    with pytest.raises(AwsError) as caught:
        front(engine).handle("PutRecord", json.dumps(request).encode(), request, "auth")
    assert caught.value.code == "InvalidArgumentException"
    assert "[0, 2^128-1]" in caught.value.message
    assert engine.forwarded == []


def test_a_record_outside_the_cached_map_reloads_it_and_is_judged_by_its_shard(frozen_second):
    engine = FakeEngine(
        [
            [shard("shardId-0", 0, HALF - 1)],  # a map that missed a shard
            [shard("shardId-0", 0, HALF - 1), shard("shardId-1", HALF, 2 * HALF - 1)],
        ]
    )
    kinesis = front(engine)
    high = [record(ExplicitHashKey=str(HALF)) for _ in range(500)]
    replies = [json.loads(put_records(kinesis, high).body) for _ in range(3)]
    assert engine.list_calls == 2  # the unknown key reloaded the map once
    assert [r["FailedRecordCount"] for r in replies] == [0, 0, 500]  # shard 1's 1,000 a second
    assert {r["ErrorMessage"] for r in replies[2]["Records"]} == {
        "Rate exceeded for shard shardId-1 in stream s under account 000000000000."
    }
    # only what the limits admitted reached the engine
    assert sum(len(req["Records"]) for _, req in engine.forwarded) == 1000


def test_a_record_no_open_shard_covers_fails_the_call_unwritten():
    engine = FakeEngine([[shard("shardId-0", 0, HALF - 1)]])  # half the key space, always
    with pytest.raises(AwsError) as caught:
        put_records(front(engine), [record(ExplicitHashKey=str(HALF))])
    assert caught.value.status == 500
    assert "no open shard" in caught.value.message
    assert engine.forwarded == []


def iterator_for(kinesis: KinesisFront) -> str:
    request = {"StreamName": "s", "ShardId": "shardId-0", "ShardIteratorType": "TRIM_HORIZON"}
    reply = kinesis.handle("GetShardIterator", json.dumps(request).encode(), request, "auth")
    return json.loads(reply.body)["ShardIterator"]


def get_records(kinesis: KinesisFront, iterator: str) -> Response:
    request = {"ShardIterator": iterator}
    return kinesis.handle("GetRecords", json.dumps(request).encode(), request, "auth")


def test_read_limits_hold_for_every_iterator_even_one_a_new_gateway_never_issued(frozen_second):
    engine = FakeEngine([[shard("shardId-0", 0, L.KINESIS_HASH_KEY_SPACE - 1)]])
    iterator = iterator_for(front(engine))  # issued by another gateway (e.g. before a restart)
    kinesis = front(engine)
    statuses = [get_records(kinesis, iterator).status for _ in range(8)]
    assert statuses == [200] * 5 + [400] * 3  # 5 calls a second per shard
    engine_iterators = {req["ShardIterator"] for t, req in engine.forwarded if "GetRecords" in t}
    assert engine_iterators == {"ENGINEITER=="}  # the engine got its own iterator back


def test_next_iterator_names_the_shard_and_an_unknown_iterator_is_refused():
    engine = FakeEngine([[shard("shardId-0", 0, L.KINESIS_HASH_KEY_SPACE - 1)]])
    kinesis = front(engine)
    reply = json.loads(get_records(kinesis, iterator_for(kinesis)).body)
    assert reply["NextShardIterator"].endswith("|s|shardId-0")
    with pytest.raises(AwsError) as caught:
        get_records(kinesis, "ENGINEITER==")
    assert (caught.value.code, caught.value.message) == (
        "InvalidArgumentException",
        "Invalid ShardIterator.",
    )
