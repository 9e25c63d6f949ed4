"""Throttled and failing writes: the DynamoDB client is wrapped at the boundary so each call
can be throttled, partly processed or refused; time is a fake clock so budgets are exact."""

from __future__ import annotations

import threading
import time

import pytest
from aws_lambda_powertools.utilities.batch import process_partial_response
from botocore.exceptions import ClientError, EndpointConnectionError

from pipeline import metrics as names
from pipeline.ingest.processor import IngestProcessor
from pipeline.ingest.records import classify_record
from pipeline.ingest.store import (
    BACKOFF_BASE_S,
    BACKOFF_CAP_S,
    WRITE_CONDITION,
    WRITE_THREADS,
    Backoff,
)
from tests.conftest import FakeLambdaContext, load_event
from tests.events.builders import event_body, good_batch, kinesis_event, kinesis_record
from tests.events.generate import POISON_INDEX
from tests.unit.pipeline.aws import TABLE_NAME

CALL_SECONDS = 0.2  # how long each fake DynamoDB call takes on the fake clock


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def throttled(retry_attempts: int = 2) -> ClientError:
    return ClientError(
        {
            "Error": {
                "Code": "ProvisionedThroughputExceededException",
                "Message": "The level of configured provisioned throughput for the table was "
                "exceeded. Consider increasing your provisioning level with the UpdateTable API.",
            },
            "ResponseMetadata": {"HTTPStatusCode": 400, "RetryAttempts": retry_attempts},
        },
        "PutItem",
    )


class ScriptedDynamoDB:
    """Answers PutItem from a script, then passes calls to the real (moto) client.

    Steps, one per call (the handler's pool threads take them in turn): "pass",
    "throttle" (ProvisionedThroughputExceededException after botocore's 2 retries),
    "unreachable" (connection refused), "missing" (ResourceNotFoundException)."""

    def __init__(self, real, script: list[str], then: str = "pass", clock: FakeTime | None = None):
        self.real = real
        self.script = list(script)
        self.then = then
        self.clock = clock
        self.calls: list[str] = []  # event_id of each PutItem, in call order
        self.lock = threading.Lock()

    def put_item(self, **request):
        assert request["ConditionExpression"] == WRITE_CONDITION, "an unconditional put"
        with self.lock:
            self.calls.append(request["Item"]["event_id"]["S"])
            if self.clock:
                self.clock.now += CALL_SECONDS
            step = self.script.pop(0) if self.script else self.then
        if step == "throttle":
            raise throttled()
        if step == "unreachable":
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:4566")
        if step == "missing":
            raise ClientError(
                {
                    "Error": {
                        "Code": "ResourceNotFoundException",
                        "Message": "Requested resource not found",
                    }
                },
                "PutItem",
            )
        return self.real.put_item(**request)


class RecordedMetrics:
    def __init__(self) -> None:
        self.values: dict[str, list[float]] = {}

    def add_metric(self, name: str, unit: str, value: float) -> None:
        assert unit == names.by_name(name, names.NAMESPACE).unit
        self.values.setdefault(name, []).append(value)

    def total(self, metric: names.Metric) -> float:
        return sum(self.values.get(metric.name, []))


def make_processor(aws, dynamodb, fake_time: FakeTime, safety_margin_s: float = 3.0):
    metrics = RecordedMetrics()
    processor = IngestProcessor(
        table_name=TABLE_NAME,
        dlq_url=aws.queue_url,
        dynamodb=dynamodb,
        sqs=aws.sqs,
        metrics=metrics,
        safety_margin_s=safety_margin_s,
        backoff=Backoff(sleep=fake_time.sleep),
        monotonic=fake_time.monotonic,
    )
    return processor, metrics


def run(processor, event, remaining_ms: int = 60_000) -> dict:
    context = FakeLambdaContext(remaining_ms=remaining_ms)
    return process_partial_response(event, classify_record, processor, context)


def test_one_conditional_put_per_event(aws):
    fake_time = FakeTime()
    dynamodb = ScriptedDynamoDB(aws.dynamodb, [])
    processor, _ = make_processor(aws, dynamodb, fake_time)

    assert run(processor, good_batch(60)) == {"batchItemFailures": []}

    assert sorted(dynamodb.calls) == sorted(aws.items())
    assert len(aws.items()) == 60


def test_throttled_writes_that_succeed_on_retry_store_everything(aws):
    fake_time = FakeTime()
    # Round 1: 30 puts throttled (botocore retried each twice), 5 unreachable; round 2 passes.
    dynamodb = ScriptedDynamoDB(aws.dynamodb, ["throttle"] * 30 + ["unreachable"] * 5)
    processor, metrics = make_processor(aws, dynamodb, fake_time)

    response = run(processor, good_batch(100))

    assert response == {"batchItemFailures": []}
    assert len(aws.items()) == 100
    assert len(dynamodb.calls) == 135
    assert metrics.total(names.RECORDS_STORED) == 100
    assert metrics.total(names.RECORDS_FAILED) == 0
    # botocore's 2 attempts inside each throttled put + the 35 puts of the second round.
    assert metrics.total(names.WRITE_RETRIES) == 30 * 2 + 35
    assert len(metrics.values[names.END_TO_END_LATENCY.name]) == 100
    assert fake_time.sleeps, "no backoff between rounds"
    for round_number, slept in enumerate(fake_time.sleeps, start=1):
        assert 0 <= slept <= min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**round_number)


@pytest.mark.parametrize("failure", ["throttle", "unreachable"])
def test_writes_that_never_succeed_are_batch_item_failures_within_the_budget(aws, failure):
    fake_time = FakeTime()
    dynamodb = ScriptedDynamoDB(aws.dynamodb, [], then=failure, clock=fake_time)
    processor, metrics = make_processor(aws, dynamodb, fake_time, safety_margin_s=3.0)
    event = load_event("kinesis-batch-100-one-poison.json")
    started = fake_time.now

    response = run(processor, event, remaining_ms=20_000)

    expected = [
        {"itemIdentifier": record["kinesis"]["sequenceNumber"]}
        for index, record in enumerate(event["Records"])
        if index != POISON_INDEX
    ]
    assert response == {"batchItemFailures": expected}
    assert aws.items() == {}
    assert len(aws.dead_letters()) == 1  # the poison record is still dead-lettered
    assert metrics.total(names.RECORDS_FAILED) == 99
    assert metrics.total(names.RECORDS_STORED) == 0
    assert metrics.total(names.RECORDS_DEAD_LETTERED) == 1
    assert fake_time.now >= started + 20 - 3 - CALL_SECONDS, "gave up before using the budget"
    # No put starts after remaining time minus margin; the puts in flight then (one a
    # thread) end within the margin.
    assert fake_time.now <= started + 20 - 3 + WRITE_THREADS * CALL_SECONDS


def test_a_write_error_that_retrying_cannot_fix_fails_the_records_at_once(aws):
    fake_time = FakeTime()
    dynamodb = ScriptedDynamoDB(aws.dynamodb, [], then="missing", clock=fake_time)
    processor, _ = make_processor(aws, dynamodb, fake_time)
    event = good_batch(30)

    response = run(processor, event)

    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": r["kinesis"]["sequenceNumber"]} for r in event["Records"]
        ]
    }
    assert len(dynamodb.calls) == 30
    assert fake_time.sleeps == []


def test_duplicate_event_ids_share_the_fate_of_their_write(aws):
    fake_time = FakeTime()
    dynamodb = ScriptedDynamoDB(aws.dynamodb, [], then="throttle", clock=fake_time)
    processor, _ = make_processor(aws, dynamodb, fake_time)
    records = [kinesis_record(0, event_body(0)), kinesis_record(1, event_body(0))]

    response = run(processor, kinesis_event(records), remaining_ms=5_000)

    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": records[0]["kinesis"]["sequenceNumber"]},
            {"itemIdentifier": records[1]["kinesis"]["sequenceNumber"]},
        ]
    }
    assert set(dynamodb.calls) == {"evt-000000"}, "one put for both records"


def test_the_real_clock_budget_ends_the_retries(aws):
    dynamodb = ScriptedDynamoDB(aws.dynamodb, [], then="throttle")
    processor = IngestProcessor(
        table_name=TABLE_NAME,
        dlq_url=aws.queue_url,
        dynamodb=dynamodb,
        sqs=aws.sqs,
        metrics=RecordedMetrics(),
        safety_margin_s=0.5,
    )
    started = time.monotonic()

    response = run(processor, good_batch(5), remaining_ms=1_500)

    assert len(response["batchItemFailures"]) == 5
    assert len(dynamodb.calls) >= 2
    # Generous bound: the budget is 1 s; this only catches a loop that ignores it.
    assert time.monotonic() - started < 30
