"""Kinesis through the gateway: per-shard write and read limits, PutRecords judged record by
record with AWS's wording, routing at hash-range boundaries, on-demand hot keys.

Limits are counted on the client's side (what boto3 got back, see client_counts.py), never
from the gateway's own IncomingRecords metric."""

from __future__ import annotations

import threading
import time

import pytest

from pipeline import aws_limits as L
from pipeline import capacity
from tests.integration.local.client_counts import ClientCounts
from tests.integration.local.conftest import unique, wait_for_next_second

pytestmark = pytest.mark.integration

DEADLINE_S = 30
THROTTLED = "ProvisionedThroughputExceededException"


def create_stream(kinesis, shards: int = 1, on_demand: bool = False) -> str:
    name = unique("stream")
    if on_demand:
        kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    else:
        kinesis.create_stream(StreamName=name, ShardCount=shards)
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            return name
        time.sleep(0.05)
    raise AssertionError(f"stream {name} never became ACTIVE")


def overload(put_call, seconds: float, threads: int = 3) -> None:
    """Call put_call() from several threads for `seconds` (bounded)."""
    stop = time.monotonic() + seconds

    def loop() -> None:
        while time.monotonic() < stop:
            put_call()

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(seconds + DEADLINE_S)


def accepted_by(reply: dict) -> int:
    return len(reply["Records"]) - reply["FailedRecordCount"]


def outcome(reply: dict) -> tuple[int, int]:
    """(records accepted, records refused) of one PutRecords reply."""
    return accepted_by(reply), reply["FailedRecordCount"]


def bytes_accepted(records: list[dict], reply: dict) -> int:
    return sum(
        capacity.kinesis_record_bytes(len(r["Data"]), r["PartitionKey"])
        for r, entry in zip(records, reply["Records"], strict=True)
        if "SequenceNumber" in entry
    )


def test_put_records_accepts_at_most_1000_records_per_shard_per_second(aws):
    kinesis = aws("kinesis")
    name = create_stream(kinesis)
    records = [{"Data": b"x" * 10, "PartitionKey": str(i)} for i in range(500)]
    counts = ClientCounts()
    throttled = []

    def put() -> tuple[int, int]:
        reply = kinesis.put_records(StreamName=name, Records=records)
        throttled.extend(e for e in reply["Records"] if e.get("ErrorCode") == THROTTLED)
        return outcome(reply)

    overload(lambda: counts.timed(put), seconds=3.5)  # 3 threads: several times the limit
    counts.assert_limited_to(L.KINESIS_SHARD_WRITE_RECORDS_PER_S)
    assert throttled, "the overload was throttled"


def test_put_records_accepts_at_most_1_mib_per_shard_per_second(aws):
    kinesis = aws("kinesis")
    name = create_stream(kinesis)
    data = b"y" * (100 * 1024 - 1)  # with the 1-byte key: exactly 100 KiB a record
    records = [{"Data": data, "PartitionKey": "k"} for _ in range(15)]
    counts, largest = ClientCounts(), []

    def put() -> int:
        reply = kinesis.put_records(StreamName=name, Records=records)
        largest.append(bytes_accepted(records, reply))
        return bytes_accepted(records, reply)

    overload(lambda: counts.timed(put), seconds=3.5, threads=2)
    counts.assert_limited_to(L.KINESIS_SHARD_WRITE_BYTES_PER_S)
    # One call is judged at one instant: 10 records of 100 KiB fit in 1 MiB, the 11th not.
    assert max(largest) == 10 * 100 * 1024


def test_put_record_rounds_each_record_up_to_1_kib_but_put_records_counts_exact_bytes(aws):
    kinesis = aws("kinesis")
    # 40,000 bytes exact: PutRecords fits 26 a second (1 MiB / 40,000), PutRecord bills 40 KiB
    # each (1 MiB / 40,960) and fits only 25.
    data = b"z" * 39_999
    single, batch = create_stream(kinesis), create_stream(kinesis)
    singles, batches = ClientCounts(), ClientCounts()

    def put_one() -> tuple[int, int]:
        try:
            kinesis.put_record(StreamName=single, Data=data, PartitionKey="k")
        except kinesis.exceptions.ProvisionedThroughputExceededException:
            return 0, 1
        return 1, 0

    overload(lambda: singles.timed(put_one), seconds=3.5, threads=2)
    overload(
        lambda: batches.timed(
            lambda: outcome(
                kinesis.put_records(
                    StreamName=batch, Records=[{"Data": data, "PartitionKey": "k"}] * 40
                )
            )
        ),
        seconds=3.5,
        threads=2,
    )
    singles.assert_limited_to(25)
    batches.assert_limited_to(26)
    # one PutRecords call is judged at one instant: a fresh second takes exactly 26
    assert max(c.accepted for c in batches.calls) == 26


def test_put_records_judges_each_record_in_order_with_aws_wording(aws):
    kinesis = aws("kinesis")
    name = create_stream(kinesis)
    shard_id = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    big = b"b" * 2199  # 2,200 bytes with its 1-byte key: 476 fit in 1 MiB
    records = [{"Data": big, "PartitionKey": "k"} for _ in range(477)]
    records.append({"Data": b"s" * 99, "PartitionKey": "k"})  # a small one still fits
    wait_for_next_second()
    reply = kinesis.put_records(StreamName=name, Records=records)
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert reply["FailedRecordCount"] == 1
    assert len(reply["Records"]) == len(records)
    assert all("SequenceNumber" in r for r in reply["Records"][:476])
    assert reply["Records"][476] == {
        "ErrorCode": "ProvisionedThroughputExceededException",
        "ErrorMessage": f"Rate exceeded for shard {shard_id} in stream {name} "
        "under account 000000000000.",
    }
    assert reply["Records"][477]["ShardId"] == shard_id


def test_throttled_put_record_is_http_400_provisioned_throughput_exceeded(aws):
    kinesis = aws("kinesis")
    name = create_stream(kinesis)
    shard_id = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    wait_for_next_second()
    kinesis.put_records(StreamName=name, Records=[{"Data": b"a" * 1023, "PartitionKey": "k"}] * 500)
    kinesis.put_records(StreamName=name, Records=[{"Data": b"a" * 1023, "PartitionKey": "k"}] * 500)
    deadline = time.monotonic() + DEADLINE_S
    with pytest.raises(kinesis.exceptions.ProvisionedThroughputExceededException) as caught:
        # the window may have rolled between calls (a busy machine): the shard refills
        while time.monotonic() < deadline:
            kinesis.put_record(StreamName=name, Data=b"a" * 1023, PartitionKey="k")
            kinesis.put_records(
                StreamName=name, Records=[{"Data": b"a" * 1023, "PartitionKey": "k"}] * 500
            )
            kinesis.put_records(
                StreamName=name, Records=[{"Data": b"a" * 1023, "PartitionKey": "k"}] * 500
            )
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Message"] == (
        f"Rate exceeded for shard {shard_id} in stream {name} under account 000000000000."
    )


def test_get_records_allows_5_calls_per_shard_per_second(aws):
    kinesis = aws("kinesis")
    name = create_stream(kinesis)
    shard_id = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    outcomes = []
    for _attempt in range(3):  # a busy machine may straddle a second: try again
        iterators = [
            kinesis.get_shard_iterator(
                StreamName=name, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for _ in range(8)
        ]
        wait_for_next_second()
        started = time.time()
        outcomes = []
        for iterator in iterators:
            try:
                kinesis.get_records(ShardIterator=iterator)
                outcomes.append("ok")
            except kinesis.exceptions.ProvisionedThroughputExceededException as exc:
                outcomes.append(exc.response["Error"]["Message"])
        if int(time.time()) == int(started):
            break
    assert outcomes[:5] == ["ok"] * 5
    assert outcomes[5:] == [f"Rate exceeded for Shard - 000000000000/{name}/{shard_id}"] * 3


def test_get_records_over_2_mib_blocks_the_shard_until_the_bytes_are_repaid(aws):
    kinesis = aws("kinesis")
    name = create_stream(kinesis)
    shard_id = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    data = b"r" * (100 * 1024 - 1)
    stored = 0
    deadline = time.monotonic() + DEADLINE_S
    while stored < 40 and time.monotonic() < deadline:  # 4 MiB at the shard's 1 MiB/s
        reply = kinesis.put_records(
            StreamName=name, Records=[{"Data": data, "PartitionKey": "k"}] * 10
        )
        stored += 10 - reply["FailedRecordCount"]
        time.sleep(0.2)
    assert stored >= 40
    iterator = kinesis.get_shard_iterator(
        StreamName=name, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    first = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
    assert len(first["Records"]) == stored  # ~4 MiB: the 2 MiB/s budget is ~2 MiB in debt
    with pytest.raises(kinesis.exceptions.ProvisionedThroughputExceededException):
        kinesis.get_records(ShardIterator=first["NextShardIterator"])
    time.sleep(1.5)  # ~2 MiB of debt at 2 MiB/s: repaid after ~1 s
    assert kinesis.get_records(ShardIterator=first["NextShardIterator"])["Records"] == []


def test_routing_at_hash_range_boundaries_matches_the_shard_that_throttles(aws):
    kinesis = aws("kinesis")
    name = create_stream(kinesis, shards=4)
    shards = sorted(
        kinesis.list_shards(StreamName=name)["Shards"],
        key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]),
    )
    assert [
        (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
        for s in shards
    ] == capacity.even_hash_ranges(4)
    boundaries = [0, 2**128 - 1]
    for shard in shards:
        boundaries += [int(shard["HashKeyRange"]["StartingHashKey"])]
        boundaries += [int(shard["HashKeyRange"]["EndingHashKey"])]
    for key in boundaries:
        expected = next(
            s["ShardId"]
            for s in shards
            if int(s["HashKeyRange"]["StartingHashKey"])
            <= key
            <= int(s["HashKeyRange"]["EndingHashKey"])
        )
        reply = kinesis.put_record(
            StreamName=name, Data=b"e", PartitionKey="p", ExplicitHashKey=str(key)
        )
        assert reply["ShardId"] == expected, key
    for key in ("a", "event-1", "zzz", "0"):
        digest = capacity.partition_key_hash(key)
        expected = next(
            s["ShardId"]
            for s in shards
            if int(s["HashKeyRange"]["StartingHashKey"])
            <= digest
            <= int(s["HashKeyRange"]["EndingHashKey"])
        )
        assert (
            kinesis.put_record(StreamName=name, Data=b"m", PartitionKey=key)["ShardId"] == expected
        )

    # The gateway's own accounting routes like the engine: fill shard 0 at its last hash key
    # and shard 1 at its first; only shard 0 throttles.
    end0 = str(int(shards[0]["HashKeyRange"]["EndingHashKey"]))
    start1 = str(int(shards[1]["HashKeyRange"]["StartingHashKey"]))
    data = b"d" * 2999  # 3,000 bytes with the key: 349 fit in 1 MiB
    records = [{"Data": data, "PartitionKey": "p", "ExplicitHashKey": end0}] * 350
    records += [{"Data": data, "PartitionKey": "p", "ExplicitHashKey": start1}] * 150
    wait_for_next_second()
    reply = kinesis.put_records(StreamName=name, Records=records)
    assert reply["FailedRecordCount"] == 1
    assert shards[0]["ShardId"] in reply["Records"][349]["ErrorMessage"]
    assert {r["ShardId"] for r in reply["Records"][:349]} == {shards[0]["ShardId"]}
    assert {r["ShardId"] for r in reply["Records"][350:]} == {shards[1]["ShardId"]}


def test_16_concurrent_producers_on_one_shard_every_acknowledged_record_read_back_once(aws):
    kinesis = aws("kinesis")
    name = create_stream(kinesis)
    acknowledged: dict[str, str] = {}
    lock = threading.Lock()

    def produce(producer: int) -> None:
        pending = [f"{producer}-{i}" for i in range(150)]
        deadline = time.monotonic() + DEADLINE_S
        while pending and time.monotonic() < deadline:
            batch, pending = pending[:50], pending[50:]
            reply = kinesis.put_records(
                StreamName=name,
                Records=[{"Data": event.encode(), "PartitionKey": event} for event in batch],
            )
            for event, entry in zip(batch, reply["Records"], strict=True):
                if "SequenceNumber" in entry:
                    with lock:
                        acknowledged[event] = entry["SequenceNumber"]
                else:
                    assert entry["ErrorCode"] == "ProvisionedThroughputExceededException"
                    pending.append(event)

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE_S + 10)
    assert len(acknowledged) == 16 * 150

    shard_id = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName=name, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    seen: list[tuple[str, str]] = []
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        try:
            reply = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
        except kinesis.exceptions.ProvisionedThroughputExceededException:
            time.sleep(0.25)
            continue
        seen += [(r["Data"].decode(), r["SequenceNumber"]) for r in reply["Records"]]
        iterator = reply["NextShardIterator"]
        if not reply["Records"] and reply.get("MillisBehindLatest", 0) == 0:
            break
        time.sleep(0.25)
    assert len(seen) == len(acknowledged)
    assert dict(seen) == acknowledged


def test_on_demand_stream_caps_a_hot_key_at_1000_records_per_second(aws):
    kinesis = aws("kinesis")
    name = create_stream(kinesis, on_demand=True)
    mode = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert mode["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert mode["OpenShardCount"] == 4
    hot = [{"Data": b"h", "PartitionKey": "hot"}] * 500
    counts = ClientCounts()
    overload(
        lambda: counts.timed(lambda: outcome(kinesis.put_records(StreamName=name, Records=hot))),
        seconds=3.5,
    )
    counts.assert_limited_to(L.KINESIS_SHARD_WRITE_RECORDS_PER_S)
