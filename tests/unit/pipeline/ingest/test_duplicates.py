"""Duplicates (docs/pipeline.md "Duplicates"): the same event again is stored once; another
event under a stored event_id is dead-lettered as a conflict and the first is kept."""

from __future__ import annotations

import base64
import json

import pytest

from pipeline.ingest.records import CONTENT_HASH_ATTRIBUTE
from tests.events.builders import event_body, kinesis_event, kinesis_record, sequence_number
from tests.unit.pipeline.aws import fresh_import


@pytest.fixture
def handler(aws):
    return fresh_import("pipeline.ingest.handler")


def letters(aws) -> list[dict]:
    return [json.loads(m["Body"]) for m in aws.dead_letters()]


def test_a_different_event_under_a_stored_event_id_is_a_conflict_and_the_first_is_kept(
    aws, handler, lambda_context
):
    first_batch = kinesis_event([kinesis_record(i, event_body(i)) for i in range(5)])
    assert handler.lambda_handler(first_batch, lambda_context) == {"batchItemFailures": []}
    first = aws.items()["evt-000003"]

    impostor = event_body(3, source="another-producer", payload={"amount": 999})
    second_batch = kinesis_event(
        [
            kinesis_record(10, event_body(10)),
            kinesis_record(11, impostor),
            kinesis_record(12, event_body(12)),
        ]
    )
    assert handler.lambda_handler(second_batch, lambda_context) == {"batchItemFailures": []}

    items = aws.items()
    assert items["evt-000003"] == first, "the stored event was written over"
    assert sorted(items) == [f"evt-{i:06d}" for i in (0, 1, 2, 3, 4, 10, 12)]
    (letter,) = letters(aws)
    assert letter["reason"] == "conflict"
    assert letter["event_id"] == "evt-000003"
    assert letter["detail"].startswith("event_id 'evt-000003' conflict: ")
    assert "already stored" in letter["detail"]
    assert letter["sequence_number"] == sequence_number(11)
    assert json.loads(base64.b64decode(letter["data"])) == impostor


def test_the_same_event_redelivered_under_another_sequence_number_is_stored_once(
    aws, handler, lambda_context
):
    body = event_body(7)
    assert handler.lambda_handler(kinesis_event([kinesis_record(7, body)]), lambda_context) == {
        "batchItemFailures": []
    }
    # A producer's retry: same content, keys in another order, a new sequence number.
    reordered = dict(reversed(list(body.items())))
    assert handler.lambda_handler(
        kinesis_event([kinesis_record(8, reordered)]), lambda_context
    ) == {"batchItemFailures": []}

    items = aws.items()
    assert list(items) == ["evt-000007"]
    assert items["evt-000007"]["source"] == {"S": body["source"]}
    assert len(items["evt-000007"][CONTENT_HASH_ATTRIBUTE]["S"]) == 64
    assert letters(aws) == []


def test_two_records_of_one_event_in_a_batch_are_both_acknowledged(aws, handler, lambda_context):
    records = [kinesis_record(i, event_body(i)) for i in range(5)]
    records.append(kinesis_record(5, event_body(2)))

    assert handler.lambda_handler(kinesis_event(records), lambda_context) == {
        "batchItemFailures": []
    }

    assert sorted(aws.items()) == [f"evt-{i:06d}" for i in range(5)]
    assert letters(aws) == []


def test_a_later_record_of_the_batch_with_other_content_is_the_conflict(
    aws, handler, lambda_context
):
    records = [kinesis_record(i, event_body(i)) for i in range(30)]
    records.append(kinesis_record(30, event_body(3, source="retrying-producer")))

    assert handler.lambda_handler(kinesis_event(records), lambda_context) == {
        "batchItemFailures": []
    }

    items = aws.items()
    assert len(items) == 30
    assert items["evt-000003"]["source"] == {"S": "loadgen-1"}
    assert items["evt-000003"]["sequence_number"] == {"S": sequence_number(3)}
    (letter,) = letters(aws)
    assert letter["reason"] == "conflict"
    assert letter["event_id"] == "evt-000003"
    assert letter["sequence_number"] == sequence_number(30)
    assert f"sequence number {sequence_number(3)}" in letter["detail"]
