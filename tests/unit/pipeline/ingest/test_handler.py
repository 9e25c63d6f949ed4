"""The deployed handler end to end against moto: what Kinesis gets back, what the table and
the dead-letter queue hold, and what the EMF output says."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest

from pipeline import metrics
from tests.conftest import load_event
from tests.events.builders import (
    STREAM_ARN,
    event_body,
    good_batch,
    kinesis_event,
    kinesis_record,
    sequence_number,
)
from tests.events.generate import POISON_INDEX
from tests.unit.pipeline.aws import ENVIRONMENT, cold_start_error, fresh_import


@pytest.fixture
def handler(aws):
    return fresh_import("pipeline.ingest.handler")


def emf_documents(stdout: str) -> list[dict]:
    documents = []
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def metric_total(documents: list[dict], name: str) -> float:
    total = 0.0
    for document in documents:
        value = document.get(name, [])
        total += sum(value) if isinstance(value, list) else value
    return total


def test_good_batch_is_stored_with_arrival_storage_and_sequence(aws, handler, lambda_context):
    response = handler.lambda_handler(good_batch(100), lambda_context)

    assert response == {"batchItemFailures": []}
    items = aws.items()
    assert len(items) == 100
    item = items["evt-000007"]
    assert item["type"] == {"S": "view"}
    assert item["source"] == {"S": "loadgen-1"}
    assert Decimal(item["produced_at"]["N"]) == Decimal(repr(event_body(7)["produced_at"]))
    assert item["sequence_number"] == {"S": sequence_number(7)}
    arrived = float(item["arrived_at"]["N"])
    stored = float(item["stored_at"]["N"])
    assert arrived == pytest.approx(event_body(7)["produced_at"] + 0.05, abs=0.002)
    assert stored > arrived
    # DynamoDB TTL deletes it 30 days after it arrived (epoch seconds, a whole number)
    assert int(item["expires_at"]["N"]) == int(arrived) + 30 * 86400
    assert item["payload"] == {
        "M": {
            "user": {"S": "u-7"},
            "amount": {"N": "10.5"},
            "tags": {"L": [{"S": "a"}, {"S": "b"}]},
        }
    }


def test_one_poison_record_in_100_goes_to_the_dlq_and_99_are_stored(aws, handler, lambda_context):
    event = load_event("kinesis-batch-100-one-poison.json")
    poison = event["Records"][POISON_INDEX]

    response = handler.lambda_handler(event, lambda_context)

    assert response == {"batchItemFailures": []}
    items = aws.items()
    assert len(items) == 99
    assert f"evt-{POISON_INDEX:06d}" not in items
    (message,) = aws.dead_letters()
    assert message["MessageAttributes"]["reason"]["StringValue"] == "not_json"
    body = json.loads(message["Body"])
    assert body == {
        "reason": "not_json",
        "detail": body["detail"],
        "event_id": None,
        "shard_id": "shardId-000000000000",
        "sequence_number": poison["kinesis"]["sequenceNumber"],
        "partition_key": poison["kinesis"]["partitionKey"],
        "approximate_arrival_timestamp": poison["kinesis"]["approximateArrivalTimestamp"],
        "event_source_arn": STREAM_ARN,
        "data": poison["kinesis"]["data"],
        "data_truncated": False,
    }
    assert body["detail"].startswith("data is not JSON: ")
    assert base64.b64decode(body["data"]) == b"{not json"


POISONS = {
    "not_utf8": (b'{"event_id": "\xff\xfe"}', "not_utf8", None, "byte 0xff at offset 14"),
    "not_json": (b"event_id=1", "not_json", None, "data is not JSON"),
    "empty": (b"", "not_json", None, "data is not JSON"),
    "top_level_array": (b"[1, 2]", "contract_violation", None, "Input should be an object"),
    "missing_payload": (
        {k: v for k, v in event_body(900).items() if k != "payload"},
        "contract_violation",
        "evt-000900",
        "payload: Field required",
    ),
    "produced_at_string": (
        event_body(901, produced_at="2025-11-29T05:00:00Z"),
        "contract_violation",
        "evt-000901",
        "produced_at: Input should be a valid number",
    ),
    "produced_at_negative": (
        event_body(902, produced_at=-5),
        "contract_violation",
        "evt-000902",
        "produced_at: produced_at must be epoch seconds",
    ),
    "unknown_field": (
        event_body(903, colour="red"),
        "contract_violation",
        "evt-000903",
        "colour: Extra inputs are not permitted",
    ),
    "bad_event_id": (
        event_body(904, event_id="has spaces"),
        "contract_violation",
        "has spaces",
        "event_id: String should match pattern",
    ),
    "payload_not_object": (
        event_body(905, payload=[1, 2]),
        "contract_violation",
        "evt-000905",
        "payload: Input should be an object",
    ),
    "number_too_big_for_dynamodb": (
        event_body(906, payload={"n": 10**40 + 1}),
        "not_storable",
        "evt-000906",
        "payload.n: 10000000000000000000000000000000000000001 does not fit a DynamoDB number",
    ),
    "nested_too_deep": (
        event_body(907, payload=json.loads('{"a":' * 40 + "1" + "}" * 40)),
        "not_storable",
        "evt-000907",
        "nested deeper than DynamoDB's 32 levels",
    ),
    "nan_in_payload": (
        b'{"event_id": "evt-000908", "type": "t", "source": "s", "produced_at": 1, '
        b'"payload": {"x": NaN}}',
        "not_storable",
        "evt-000908",
        "payload.x: nan is not a finite number",
    ),
    "item_over_400_kb": (
        event_body(909, payload={"blob": "x" * 200_000, "more": "y" * 210_000}),
        "item_too_large",
        "evt-000909",
        "DynamoDB's limit is 409600 bytes",
    ),
}


@pytest.mark.parametrize("kind", sorted(POISONS))
def test_each_kind_of_poison_is_dead_lettered_with_its_reason(kind, aws, handler, lambda_context):
    data, reason, event_id, detail = POISONS[kind]
    records = [kinesis_record(i, event_body(i)) for i in range(10)]
    records.insert(5, kinesis_record(50, data))

    response = handler.lambda_handler(kinesis_event(records), lambda_context)

    assert response == {"batchItemFailures": []}
    assert sorted(aws.items()) == [f"evt-{i:06d}" for i in range(10)]
    (message,) = aws.dead_letters()
    body = json.loads(message["Body"])
    assert body["reason"] == reason
    assert message["MessageAttributes"]["reason"]["StringValue"] == reason
    assert detail in body["detail"]
    assert body["event_id"] == event_id
    assert body["sequence_number"] == sequence_number(50)
    assert body["partition_key"] == "pk-50"


def test_a_record_too_big_for_an_sqs_message_is_dead_lettered_without_its_data(
    aws, handler, lambda_context
):
    records = [kinesis_record(0, event_body(0)), kinesis_record(1, b"\x00" * 300_000)]

    response = handler.lambda_handler(kinesis_event(records), lambda_context)

    assert response == {"batchItemFailures": []}
    (message,) = aws.dead_letters()
    body = json.loads(message["Body"])
    assert body["reason"] == "not_json"
    assert body["data"] is None
    assert body["data_truncated"] is True
    assert body["data_base64_chars"] == 400_000
    assert body["sequence_number"] == sequence_number(1)


def test_when_the_dlq_refuses_the_poison_record_is_a_batch_item_failure(
    aws, handler, lambda_context
):
    aws.sqs.delete_queue(QueueUrl=aws.queue_url)
    event = load_event("kinesis-batch-100-one-poison.json")

    response = handler.lambda_handler(event, lambda_context)

    poison_sequence = event["Records"][POISON_INDEX]["kinesis"]["sequenceNumber"]
    assert response == {"batchItemFailures": [{"itemIdentifier": poison_sequence}]}
    assert len(aws.items()) == 99


def test_redelivered_batch_is_idempotent(aws, handler, lambda_context):
    event = good_batch(30)
    assert handler.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
    first = aws.items()

    assert handler.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
    second = aws.items()

    assert sorted(second) == sorted(first)
    for event_id, item in first.items():
        again = second[event_id]
        assert {k: v for k, v in again.items() if k != "stored_at"} == {
            k: v for k, v in item.items() if k != "stored_at"
        }


def test_a_record_the_handler_cannot_even_read_is_never_acknowledged(
    aws, handler, lambda_context, caplog
):
    records = [kinesis_record(i, event_body(i)) for i in range(3)]
    del records[1]["kinesis"]["data"]

    response = handler.lambda_handler(kinesis_event(records), lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": sequence_number(1)}]}
    assert sorted(aws.items()) == ["evt-000000", "evt-000002"]
    (logged,) = [r for r in caplog.records if r.exc_info]
    assert logged.exc_info[0] is KeyError  # the bug is logged with its traceback


def test_emf_output_carries_every_ingest_metric_with_its_dimensions(
    aws, handler, lambda_context, capsys
):
    capsys.readouterr()
    handler.lambda_handler(load_event("kinesis-batch-100-one-poison.json"), lambda_context)

    documents = emf_documents(capsys.readouterr().out)
    assert documents, "no EMF document on stdout"
    declared = set()
    for document in documents:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == metrics.NAMESPACE
        assert directive["Dimensions"] == [["environment", "service"]] or directive[
            "Dimensions"
        ] == [["service", "environment"]]
        assert document["environment"] == ENVIRONMENT
        assert document["service"] == metrics.SERVICE_INGEST
        declared.update((m["Name"], m["Unit"]) for m in directive["Metrics"])
    for metric in (
        metrics.END_TO_END_LATENCY,
        metrics.RECORDS_STORED,
        metrics.RECORDS_DEAD_LETTERED,
        metrics.RECORDS_FAILED,
        metrics.WRITE_RETRIES,
    ):
        assert (metric.name, metric.unit) in declared
    assert metric_total(documents, metrics.RECORDS_STORED.name) == 99
    assert metric_total(documents, metrics.RECORDS_DEAD_LETTERED.name) == 1
    assert metric_total(documents, metrics.RECORDS_FAILED.name) == 0
    latencies = [
        value
        for document in documents
        for value in document.get(metrics.END_TO_END_LATENCY.name, [])
    ]
    assert len(latencies) == 99
    assert all(value > 0 for value in latencies)


@pytest.mark.parametrize("missing", ["TABLE_NAME", "DLQ_URL", "ENVIRONMENT"])
def test_cold_start_names_the_missing_environment_variable(aws, monkeypatch, missing):
    message = cold_start_error("pipeline.ingest.handler", monkeypatch, missing)

    assert message.startswith(f"the ingest Lambda cannot start: environment variable {missing}")
