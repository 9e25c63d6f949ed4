"""Records DynamoDB would refuse are dead-lettered with their reason, never with their
chunk-mates, and a dead-letter message always fits an SQS message."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import (
    KinesisStreamRecord,
)

from pipeline import aws_limits as limits
from pipeline.ingest.dead_letter import MAX_DETAIL_CHARS, dead_letter
from pipeline.ingest.records import DeadLetterReason, Rejected
from pipeline.partiql_insert import parse_insert
from tests.events.builders import event_body, kinesis_event, kinesis_record, sequence_number
from tests.unit.pipeline.ingest.test_retries import FakeTime, make_processor, run


def stored_and_dead_lettered(aws) -> tuple[list[str], list[dict]]:
    letters = [json.loads(m["Body"]) for m in aws.dead_letters()]
    return sorted(aws.items()), letters


@pytest.mark.parametrize(
    "payload, where",
    [
        ({"": 1}, "payload: has an empty key"),
        ({"a": {"b": [{"": "x"}]}}, "payload.a.b[0]: has an empty key"),
    ],
)
def test_an_empty_map_key_at_any_depth_is_dead_lettered_and_its_batch_stored(aws, payload, where):
    records = [kinesis_record(i, event_body(i)) for i in range(30)]
    records.insert(7, kinesis_record(99, event_body(99, payload=payload)))
    processor, _ = make_processor(aws, aws.dynamodb, FakeTime())

    assert run(processor, kinesis_event(records)) == {"batchItemFailures": []}

    stored, (letter,) = stored_and_dead_lettered(aws)
    assert stored == [f"evt-{i:06d}" for i in range(30)]
    assert letter["reason"] == "not_storable"
    assert letter["detail"].startswith(where)
    assert letter["event_id"] == "evt-000099"


def test_a_key_over_64_kb_is_dead_lettered_in_a_message_that_fits_the_queue(aws):
    huge_key = "k" * 400_000
    records = [
        kinesis_record(0, event_body(0)),
        kinesis_record(1, event_body(1, payload={"ok": {huge_key: 1}})),
    ]
    processor, _ = make_processor(aws, aws.dynamodb, FakeTime())

    assert run(processor, kinesis_event(records)) == {"batchItemFailures": []}

    (message,) = aws.dead_letters()
    assert len(message["Body"].encode()) <= limits.SQS_MAX_MESSAGE_BYTES
    letter = json.loads(message["Body"])
    assert letter["reason"] == "not_storable"
    assert "a key of 400000 bytes" in letter["detail"]
    assert letter["data"] is None and letter["data_truncated"] is True
    assert letter["sequence_number"] == sequence_number(1)
    assert sorted(aws.items()) == ["evt-000000"]


def test_a_detail_longer_than_the_cap_keeps_where_and_why():
    record = KinesisStreamRecord(kinesis_record(4, b"{}"))
    detail = "payload." + "k" * 300_000 + ": why it was refused"

    letter = dead_letter(0, record, Rejected(DeadLetterReason.NOT_STORABLE, detail, "evt-4"))

    body = json.loads(letter.body)
    assert len(body["detail"]) < MAX_DETAIL_CHARS + 50
    assert body["detail"].startswith("payload.kkk")
    assert body["detail"].endswith(": why it was refused")
    assert f"...({len(detail) - MAX_DETAIL_CHARS} characters cut)..." in body["detail"]
    assert letter.size <= limits.SQS_MAX_MESSAGE_BYTES


class RefusingDynamoDB:
    """Answers ValidationError for the INSERT of the refused event_id; passes every other
    statement to the real (moto) client."""

    MESSAGE = "One or more parameter values were invalid: a check this handler lacks"

    def __init__(self, real, refused_id: str) -> None:
        self.real = real
        self.refused_id = refused_id
        self.calls: list[str] = []

    def batch_execute_statement(self, Statements):
        responses = []
        for statement in Statements:
            table_name, item = parse_insert(statement["Statement"], statement["Parameters"])
            event_id = item["event_id"]["S"]
            self.calls.append(event_id)
            if event_id == self.refused_id:
                error = {"Code": "ValidationError", "Message": self.MESSAGE}
                responses.append({"TableName": table_name, "Error": error})
            else:
                responses += self.real.batch_execute_statement(Statements=[statement])["Responses"]
        return {"Responses": responses}


def test_a_validation_error_dead_letters_only_the_refused_item(
    aws,
):
    records = [kinesis_record(i, event_body(i)) for i in range(30)]
    dynamodb = RefusingDynamoDB(aws.dynamodb, "evt-000003")
    processor, _ = make_processor(aws, dynamodb, FakeTime())

    assert run(processor, kinesis_event(records)) == {"batchItemFailures": []}

    stored, (letter,) = stored_and_dead_lettered(aws)
    assert stored == [f"evt-{i:06d}" for i in range(30) if i != 3]
    assert letter["reason"] == "dynamodb_refused"
    assert letter["detail"] == f"DynamoDB: {RefusingDynamoDB.MESSAGE}"
    assert letter["event_id"] == "evt-000003"
    assert letter["sequence_number"] == sequence_number(3)
    assert sorted(dynamodb.calls) == [f"evt-{i:06d}" for i in range(30)], "one INSERT each"


def test_a_refused_item_the_queue_will_not_take_is_redelivered_not_dropped(aws):
    records = [kinesis_record(i, event_body(i)) for i in range(5)]
    aws.sqs.delete_queue(QueueUrl=aws.queue_url)
    processor, _ = make_processor(aws, RefusingDynamoDB(aws.dynamodb, "evt-000002"), FakeTime())

    response = run(processor, kinesis_event(records))

    assert response == {"batchItemFailures": [{"itemIdentifier": sequence_number(2)}]}
    assert sorted(aws.items()) == ["evt-000000", "evt-000001", "evt-000003", "evt-000004"]
