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
from pipeline.partiql_insert import MAX_STATEMENTS, parse_insert
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
    """Answers BatchExecuteStatement from scripts, then passes statements to the real (moto)
    client.

    `calls` scripts whole calls: "pass", "throttle" (ProvisionedThroughputExceededException
    after botocore's 2 retries), "unreachable" (connection refused). `script` then answers the
    statements of the calls that pass, one step a statement: "pass", "throttle" (the
    statement's ProvisionedThroughputExceeded), "missing" (its ResourceNotFound)."""

    def __init__(
        self,
        real,
        script: list[str],
        then: str = "pass",
        clock: FakeTime | None = None,
        calls: list[str] | None = None,
        calls_then: str = "pass",
    ):
        self.real = real
        self.script = list(script)
        self.then = then
        self.call_script = list(calls or [])
        self.calls_then = calls_then
        self.clock = clock
        self.batches: list[list[str]] = []  # the event_ids of each call, in call order
        self.statements: list[str] = []  # event_id of each statement answered, in order
        self.lock = threading.Lock()

    def batch_execute_statement(self, Statements):
        assert 1 <= len(Statements) <= MAX_STATEMENTS
        tables_and_items = [parse_insert(s["Statement"], s["Parameters"]) for s in Statements]
        with self.lock:
            self.batches.append([item["event_id"]["S"] for _, item in tables_and_items])
            if self.clock:
                self.clock.now += CALL_SECONDS
            call_step = self.call_script.pop(0) if self.call_script else self.calls_then
        if call_step == "throttle":
            raise throttled()
        if call_step == "unreachable":
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:4566")
        responses = []
        for statement, (table_name, item) in zip(Statements, tables_and_items, strict=True):
            with self.lock:
                self.statements.append(item["event_id"]["S"])
                step = self.script.pop(0) if self.script else self.then
            if step == "throttle":
                error = {"Code": "ProvisionedThroughputExceeded", "Message": "throttled"}
                responses.append({"TableName": table_name, "Error": error})
            elif step == "missing":
                error = {"Code": "ResourceNotFound", "Message": "Requested resource not found"}
                responses.append({"Error": error})
            else:
                responses += self.real.batch_execute_statement(Statements=[statement])["Responses"]
        return {"Responses": responses, "ResponseMetadata": {"RetryAttempts": 0}}

    def put_item(self, **request):  # a DuplicateItem's second look
        assert request["ConditionExpression"] == WRITE_CONDITION, "an unconditional put"
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


def test_one_insert_per_event_25_to_a_call(aws):
    fake_time = FakeTime()
    dynamodb = ScriptedDynamoDB(aws.dynamodb, [])
    processor, _ = make_processor(aws, dynamodb, fake_time)

    assert run(processor, good_batch(60)) == {"batchItemFailures": []}

    assert sorted(dynamodb.statements) == sorted(aws.items())
    assert len(aws.items()) == 60
    assert sorted(len(batch) for batch in dynamodb.batches) == [10, 25, 25]


def test_throttled_writes_that_succeed_on_retry_store_everything(aws):
    fake_time = FakeTime()
    # Round 1, four calls: one unreachable, one throttled as a whole (botocore retried it
    # twice), and in the two that pass 30 of the 50 statements throttled. Round 2 passes.
    dynamodb = ScriptedDynamoDB(aws.dynamodb, ["throttle"] * 30, calls=["unreachable", "throttle"])
    processor, metrics = make_processor(aws, dynamodb, fake_time)

    response = run(processor, good_batch(100))

    assert response == {"batchItemFailures": []}
    assert len(aws.items()) == 100
    assert len(dynamodb.batches) == 4 + 4  # round 2: 80 events, 25 a call
    assert len(dynamodb.statements) == 50 + 80
    assert metrics.total(names.RECORDS_STORED) == 100
    assert metrics.total(names.RECORDS_FAILED) == 0
    # botocore's 2 attempts inside the throttled call + the 80 events written again.
    assert metrics.total(names.WRITE_RETRIES) == 2 + 80
    assert len(metrics.values[names.END_TO_END_LATENCY.name]) == 100
    assert fake_time.sleeps, "no backoff between rounds"
    for round_number, slept in enumerate(fake_time.sleeps, start=1):
        assert 0 <= slept <= min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**round_number)


@pytest.mark.parametrize(
    "failure",
    [{"then": "throttle"}, {"calls_then": "throttle"}, {"calls_then": "unreachable"}],
    ids=["statements throttled", "calls throttled", "unreachable"],
)
def test_writes_that_never_succeed_are_batch_item_failures_within_the_budget(aws, failure):
    fake_time = FakeTime()
    dynamodb = ScriptedDynamoDB(aws.dynamodb, [], clock=fake_time, **failure)
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
    # It stops when the next jittered backoff (at most the cap) would not fit in the budget.
    assert fake_time.now >= started + 20 - 3 - BACKOFF_CAP_S, "gave up before using the budget"
    # No call starts after remaining time minus margin; the calls in flight then (one a
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
    assert len(dynamodb.statements) == 30
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
    assert set(dynamodb.statements) == {"evt-000000"}, "one INSERT for both records"


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
    assert len(dynamodb.batches) >= 2
    # Generous bound: the budget is 1 s; this only catches a loop that ignores it.
    assert time.monotonic() - started < 30
