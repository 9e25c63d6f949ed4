"""The shard poller against a scripted Kinesis client: iterators, read throttles, closed shards."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from pipeline.local.runtime.esm import MappingSettings, ShardConsumer
from pipeline.local.runtime.functions import FunctionSpec, InvokeResult


def _error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "GetRecords")


def _record(sequence: int, key: str = "k") -> dict:
    return {
        "SequenceNumber": str(sequence),
        "PartitionKey": key,
        "Data": b"{}",
        "ApproximateArrivalTimestamp": datetime.now(tz=UTC),
    }


class ScriptedKinesis:
    """GetRecords answers from a script; GetShardIterator calls are recorded."""

    def __init__(self, script):
        self.script = list(script)
        self.iterator_requests: list[dict] = []
        self.limits: list[int] = []

    def get_shard_iterator(self, **kwargs):
        self.iterator_requests.append(kwargs)
        return {"ShardIterator": f"it-{len(self.iterator_requests)}"}

    def get_records(self, ShardIterator, Limit):
        self.limits.append(Limit)
        step = self.script.pop(0) if self.script else {"Records": [], "NextShardIterator": "x"}
        if isinstance(step, Exception):
            raise step
        return step


class RecordingFunction:
    spec = FunctionSpec("f", "m.h", {}, 5, 128)
    arn = "arn:aws:lambda:us-east-1:000000000000:function:f"

    def __init__(self):
        self.batches: list[list[str]] = []

    def invoke(self, event):
        self.batches.append([r["kinesis"]["sequenceNumber"] for r in event["Records"]])
        return InvokeResult("r", "null")


def consume(script, **settings):
    kinesis = ScriptedKinesis(script)
    function = RecordingFunction()
    consumer = ShardConsumer(
        kinesis,
        "s",
        "arn:aws:kinesis:us-east-1:000000000000:stream/s",
        "shardId-000000000000",
        MappingSettings(poll_interval_s=0.05, **settings),
        function,
        lambda message: None,
    )
    consumer.start()
    deadline = time.monotonic() + 20
    while not consumer.finished.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    consumer.stop()
    return kinesis, function, consumer


def test_an_expired_iterator_is_renewed_after_the_last_record_read():
    kinesis, function, consumer = consume(
        [
            {
                "Records": [_record(1), _record(2)],
                "NextShardIterator": "a",
                "MillisBehindLatest": 0,
            },
            _error("ExpiredIteratorException"),
            {"Records": [_record(3)], "NextShardIterator": None},
        ]
    )
    assert kinesis.iterator_requests[0]["ShardIteratorType"] == "TRIM_HORIZON"
    assert kinesis.iterator_requests[1] == {
        "StreamName": "s",
        "ShardId": "shardId-000000000000",
        "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
        "StartingSequenceNumber": "2",
    }
    assert [s for batch in function.batches for s in batch] == ["1", "2", "3"]
    assert consumer.stats.expired_iterators == 1 and consumer.finished.is_set()


def test_a_read_throttle_backs_off_and_loses_nothing():
    _, function, consumer = consume(
        [
            _error("ProvisionedThroughputExceededException"),
            {"Records": [_record(1)], "NextShardIterator": None},
        ]
    )
    assert consumer.stats.read_throttles == 1
    assert function.batches == [["1"]]


def test_get_records_asks_for_at_most_10000_records():
    kinesis, _, _ = consume(
        [{"Records": [], "NextShardIterator": None}], batch_size=10000, parallelization_factor=10
    )
    assert kinesis.limits == [10000]


def test_latest_starting_position_is_used_for_the_first_iterator():
    kinesis, _, _ = consume(
        [{"Records": [], "NextShardIterator": None}], starting_position="LATEST"
    )
    assert kinesis.iterator_requests[0]["ShardIteratorType"] == "LATEST"


class FailingFunction(RecordingFunction):
    """Always a function error, so every batch goes to the on-failure destination."""

    def invoke(self, event):
        super().invoke(event)
        return InvokeResult("r", None, {"errorMessage": "boom", "errorType": "RuntimeError"})


def test_a_failing_on_failure_destination_retries_the_batch_instead_of_skipping_it():
    kinesis = ScriptedKinesis([{"Records": [_record(1), _record(2)], "NextShardIterator": None}])
    sent: list[dict] = []
    refusals = [RuntimeError("the on-failure queue is unreachable")]

    def send_on_failure(message):
        if refusals:
            raise refusals.pop()
        sent.append(message)

    consumer = ShardConsumer(
        kinesis,
        "s",
        "arn:aws:kinesis:us-east-1:000000000000:stream/s",
        "shardId-000000000000",
        MappingSettings(
            poll_interval_s=0.05, maximum_retry_attempts=0, on_failure_queue_url="https://sqs/q"
        ),
        FailingFunction(),
        send_on_failure,
    )
    consumer.start()
    deadline = time.monotonic() + 20
    while not consumer.finished.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    consumer.stop()

    assert sent, consumer.stats.snapshot()
    (message,) = sent
    assert message["KinesisBatchInfo"]["batchSize"] == 2
    assert consumer.stats.mapping_failures == 1
    assert consumer.stats.records_sent_on_failure == 2
