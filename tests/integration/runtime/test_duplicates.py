"""Duplicates through the real local stack (docs/pipeline.md "Duplicates"): the deployed ingest
handler behind the event source mapping, the gateway's DynamoDB, and the read API over HTTP."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.integration.runtime.conftest import (
    client,
    drain_queue,
    environment,
    event,
    put_events,
    running_runtime,
    scan_items,
    wait_until,
)

pytestmark = pytest.mark.integration


def _read_through_api(api_port: int, event_id: str) -> dict:
    url = f"http://127.0.0.1:{api_port}/events/{event_id}"
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        return json.loads(response.read())


def test_a_redelivered_event_is_stored_once_and_a_conflicting_one_is_dead_lettered(
    gateway, tmp_path
):
    config = environment(
        tmp_path, {"ingest": {"batch_size": 50, "maximum_batching_window_seconds": 1}}
    )
    kinesis, dynamodb, sqs = (client(gateway, s) for s in ("kinesis", "dynamodb", "sqs"))
    first = event("dup-1", payload={"amount": 10})
    with running_runtime(gateway, config, tmp_path) as runtime:
        put_events(kinesis, config.stream.name, [first], key=lambda e: "one")
        wait_until(
            lambda: scan_items(dynamodb, config.table.name), 60, "the first event in the table"
        )
        stored_first = _read_through_api(runtime.options.api_port, "dup-1")

        # A producer's retry of the same event, a different event under its id, and new ones.
        conflicting = {**first, "source": "another-producer", "payload": {"amount": 99}}
        later = [event(f"after-{i}") for i in range(5)]
        sequences = put_events(
            kinesis, config.stream.name, [dict(first), conflicting, *later], key=lambda e: "one"
        )
        items = wait_until(
            lambda: (
                (found := scan_items(dynamodb, config.table.name)) and len(found) >= 6 and found
            ),
            60,
            "the five later events in the table",
        )
        dead = wait_until(
            lambda: drain_queue(sqs, runtime.resources.dead_letter_queue_url),
            30,
            "the conflicting record in the dead-letter queue",
        )
        read_back = _read_through_api(runtime.options.api_port, "dup-1")
        on_failure = drain_queue(sqs, runtime.resources.on_failure_queue_url)

    assert sorted(i["event_id"] for i in items) == sorted(
        ["dup-1", *(e["event_id"] for e in later)]
    )
    assert len(dead) == 1, "the identical redelivery must not be dead-lettered"
    letter = json.loads(dead[0]["Body"])
    assert letter["reason"] == "conflict"
    assert letter["event_id"] == "dup-1"
    assert "'dup-1' conflict" in letter["detail"]
    assert letter["sequence_number"] == sequences[1]
    assert dead[0]["MessageAttributes"]["reason"]["StringValue"] == "conflict"
    # The first event, read back through the API, is unchanged in every field it was sent with.
    for field in ("event_id", "type", "source", "produced_at", "payload", "content_hash"):
        assert read_back[field] == stored_first[field], field
    assert read_back["source"] == "tests" and read_back["payload"] == {"amount": 10}
    assert on_failure == []
