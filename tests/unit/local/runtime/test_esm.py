"""The event source mapping's batch semantics, driven by a scripted function (no network)."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime

import pytest

from pipeline.local.runtime.esm import (
    BatchProcessor,
    MappingSettings,
    MappingStats,
    Outcome,
    Slot,
    judge_response,
    slot_of,
    to_stream_record,
)
from pipeline.local.runtime.functions import InvokeResult, Throttled

STREAM_ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:f"


def records(count: int, key: str = "k", start: int = 100, arrival: float = 1_000.0):
    return [
        to_stream_record(
            {
                "SequenceNumber": str(start + i),
                "PartitionKey": key,
                "Data": json.dumps({"n": start + i}).encode(),
                "ApproximateArrivalTimestamp": datetime.fromtimestamp(arrival + i, tz=UTC),
            },
            "shardId-000000000000",
            STREAM_ARN,
        )
        for i in range(count)
    ]


def numbers(event) -> list[int]:
    return [json.loads(base64.b64decode(r["kinesis"]["data"]))["n"] for r in event["Records"]]


class ScriptedFunction:
    """Fails any batch containing a number in `bad`; returns batchItemFailures if `partial`."""

    def __init__(self, bad=(), partial=None, throttles=0):
        self.bad = set(bad)
        self.partial = partial
        self.throttles = throttles
        self.calls: list[list[int]] = []

    def __call__(self, event):
        if self.throttles:
            self.throttles -= 1
            raise Throttled("f", "ReservedFunctionConcurrentInvocationLimitExceeded")
        seen = numbers(event)
        self.calls.append(seen)
        if self.partial is not None:
            return InvokeResult("r", json.dumps(self.partial(event)))
        if self.bad & set(seen):
            return InvokeResult("r", None, {"errorMessage": "boom", "errorType": "RuntimeError"})
        return InvokeResult("r", "null")


def run(function, batch, clock=lambda: 1_010.0, **settings):
    sent: list[dict] = []
    done: list[int] = []
    stats = MappingStats()
    processor = BatchProcessor(
        MappingSettings(on_failure_queue_url="https://sqs/q", **settings),
        "shardId-000000000000",
        STREAM_ARN,
        FUNCTION_ARN,
        function,
        sent.append,
        stats,
        threading.Event(),
        lambda b: done.extend(int(r.sequence_number) for r in b),
        clock=clock,
    )
    processor.process(batch)
    return sent, done, stats


def test_event_record_has_the_shape_lambda_delivers():
    (record,) = records(1)
    assert record.event == {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "k",
            "sequenceNumber": "100",
            "data": base64.b64encode(b'{"n": 100}').decode(),
            "approximateArrivalTimestamp": 1000.0,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": "shardId-000000000000:100",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::000000000000:role/redline-ingest",
        "awsRegion": "us-east-1",
        "eventSourceARN": STREAM_ARN,
    }


def test_bisect_isolates_the_failing_record_and_sends_only_it_to_the_destination():
    function = ScriptedFunction(bad={105})
    sent, done, stats = run(
        function, records(8), bisect_batch_on_function_error=True, maximum_retry_attempts=2
    )
    # Every good record succeeded exactly in order; only 105 went to the destination.
    assert [n for n in done if n != 105] == [100, 101, 102, 103, 104, 106, 107]
    assert len(sent) == 1
    info = sent[0]["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        "105",
        "105",
        1,
    )
    assert sent[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert sent[0]["responseContext"]["functionError"] == "Unhandled"
    # The lone record was invoked once plus two retries; splits spent no attempts.
    assert sum(1 for call in function.calls if call == [105]) == 3
    assert stats.retries == 2 and stats.bisects >= 3


def test_without_bisect_the_whole_batch_is_retried_then_given_up():
    function = ScriptedFunction(bad={101})
    sent, _, stats = run(function, records(4), maximum_retry_attempts=3)
    assert function.calls == [[100, 101, 102, 103]] * 4
    assert sent[0]["KinesisBatchInfo"]["batchSize"] == 4
    assert sent[0]["requestContext"]["approximateInvokeCount"] == 4
    assert stats.records_sent_on_failure == 4


def test_partial_batch_response_restarts_at_the_lowest_failed_sequence_number():
    attempts = {"n": 0}

    def partial(event):
        attempts["n"] += 1
        if attempts["n"] == 1:
            return {"batchItemFailures": [{"itemIdentifier": "103"}, {"itemIdentifier": "102"}]}
        return {"batchItemFailures": []}

    function = ScriptedFunction(partial=partial)
    sent, done, stats = run(function, records(5), maximum_retry_attempts=5)
    assert function.calls == [[100, 101, 102, 103, 104], [102, 103, 104]]
    assert done == [100, 101, 102, 103, 104]
    assert sent == [] and stats.partial_failures == 1


@pytest.mark.parametrize(
    "failures",
    [
        [{"itemIdentifier": ""}],
        [{"itemIdentifier": None}],
        [{"wrong": "100"}],
        [{"itemIdentifier": "999"}],
        "not-a-list",
    ],
)
def test_an_empty_or_malformed_item_identifier_fails_the_whole_batch(failures):
    outcome, index = judge_response(
        InvokeResult("r", json.dumps({"batchItemFailures": failures})), records(3), True
    )
    assert (outcome, index) == (Outcome.FAILED, 0)


@pytest.mark.parametrize("payload", ["null", "{}", '{"batchItemFailures": []}', '"ok"'])
def test_an_empty_or_missing_failure_list_is_full_success(payload):
    assert judge_response(InvokeResult("r", payload), records(3), True) == (Outcome.SUCCESS, 3)


def test_throttles_are_retried_without_spending_a_retry_attempt():
    function = ScriptedFunction(throttles=5)
    sent, done, stats = run(function, records(3), maximum_retry_attempts=0)
    assert done == [100, 101, 102]
    assert stats.throttled_invocations == 5 and stats.retries == 0 and sent == []


def test_records_past_the_maximum_age_go_to_the_destination_unprocessed():
    function = ScriptedFunction()
    # Arrivals 1000..1003; now 1062.5 with a 60 s maximum age: 1000, 1001 and 1002 expired.
    sent, done, _ = run(function, records(4), clock=lambda: 1_062.5, maximum_record_age_s=60)
    assert function.calls == [[103]]
    assert sent[0]["requestContext"]["condition"] == "RecordAgeExceeded"
    assert sent[0]["KinesisBatchInfo"]["batchSize"] == 3
    assert done == [100, 101, 102, 103]


def test_a_partition_key_always_maps_to_the_same_slot():
    keys = [f"key-{i}" for i in range(200)]
    first = [slot_of(k, 4) for k in keys]
    assert first == [slot_of(k, 4) for k in keys]
    assert set(first) == {0, 1, 2, 3}


def test_slot_takes_at_most_batch_size_and_the_payload_cap():
    slot = Slot()
    slot.put(records(10))
    stop = threading.Event()
    settings = MappingSettings(batch_size=4)
    assert len(slot.take(settings, stop, lambda: False)) == 4
    big = records(1)[0].size
    capped = MappingSettings(batch_size=100, max_payload_bytes=big * 3 + 64)
    assert len(slot.take(capped, stop, lambda: False)) == 3


def test_slot_waits_for_the_batching_window_before_a_partial_batch():
    slot = Slot()
    slot.put(records(2))
    settings = MappingSettings(batch_size=100, batching_window_s=1.5)
    taken: list = []
    thread = threading.Thread(
        target=lambda: taken.extend(slot.take(settings, threading.Event(), lambda: False))
    )
    thread.start()
    thread.join(0.1)
    assert thread.is_alive() and taken == []  # still inside the window
    thread.join(5)
    assert len(taken) == 2


class BrokenInvokePath(ScriptedFunction):
    """The runtime's own invoke path raises (not the handler) for the first `failures` calls."""

    def __init__(self, failures: int):
        super().__init__()
        self.failures = failures

    def __call__(self, event):
        if self.failures:
            self.failures -= 1
            self.calls.append(numbers(event))
            raise OSError("the environment's pipe broke")
        return super().__call__(event)


def test_a_failing_invoke_path_is_a_function_error_that_is_retried():
    function = BrokenInvokePath(failures=1)
    sent, done, stats = run(function, records(3), maximum_retry_attempts=2)

    assert function.calls == [[100, 101, 102], [100, 101, 102]]
    assert done == [100, 101, 102] and sent == []
    assert stats.function_errors == 1 and stats.retries == 1


def test_an_invoke_path_that_keeps_failing_ends_in_the_destination_with_lambdas_record():
    function = BrokenInvokePath(failures=10)
    sent, _, stats = run(function, records(2), maximum_retry_attempts=1)

    (message,) = sent
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 2
    assert message["responseContext"]["functionError"] == "Unhandled"
    assert message["KinesisBatchInfo"]["batchSize"] == 2
    assert stats.function_errors == 2 and stats.records_sent_on_failure == 2
