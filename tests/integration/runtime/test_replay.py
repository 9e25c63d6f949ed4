"""A batch the ingest function crashed on ends in the on-failure queue (pointers only); the
replay reads its records back from the stream and stores or dead-letters every one of them."""

from __future__ import annotations

import json

import pytest

from pipeline.replay import replay_queue
from tests.integration.runtime.conftest import (
    FAULT_HANDLERS,
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


def test_a_crashed_batch_is_replayed_from_the_stream_and_nothing_is_lost(gateway, tmp_path):
    config = environment(
        tmp_path,
        {"ingest": {"maximum_retry_attempts": 0, "bisect_batch_on_function_error": False}},
    )
    events = [event(f"evt-{i:04d}") for i in range(20)]
    events[7]["fault"] = "raise"  # the test handler crashes on it; the contract refuses it
    with running_runtime(
        gateway, config, tmp_path, handlers={"ingest": f"{FAULT_HANDLERS}.kinesis_handler"}
    ):
        kinesis = client(gateway, "kinesis")
        put_events(kinesis, config.stream.name, events, key=lambda e: "one-key")
        sqs = client(gateway, "sqs")
        failures_url = sqs.get_queue_url(QueueName=config.queues.on_failure_name)["QueueUrl"]
        wait_until(
            lambda: int(
                sqs.get_queue_attributes(
                    QueueUrl=failures_url, AttributeNames=["ApproximateNumberOfMessages"]
                )["Attributes"]["ApproximateNumberOfMessages"]
            ),
            60,
            "the on-failure message",
        )
    dynamodb = client(gateway, "dynamodb")
    dlq_url = sqs.get_queue_url(QueueName=config.queues.dead_letter_name)["QueueUrl"]
    assert scan_items(dynamodb, config.table.name) == []  # the crash stored nothing

    arguments = {
        "sqs": sqs,
        "kinesis": kinesis,
        "dynamodb": dynamodb,
        "on_failure_url": failures_url,
        "table_name": config.table.name,
        "dead_letter_url": dlq_url,
    }
    report = replay_queue(**arguments)

    assert report.problems == []
    assert (report.messages, report.messages_deleted) == (1, 1)
    assert (report.records_expected, report.records_stored, report.records_dead_lettered) == (
        20,
        19,
        1,
    )
    stored = sorted(item["event_id"] for item in scan_items(dynamodb, config.table.name))
    assert stored == [e["event_id"] for i, e in enumerate(events) if i != 7]
    (letter,) = [json.loads(m["Body"]) for m in drain_queue(sqs, dlq_url)]
    assert letter["reason"] == "contract_violation" and letter["event_id"] == "evt-0007"
    assert "fault: Extra inputs are not permitted" in letter["detail"]

    again = replay_queue(**arguments)
    assert (again.messages, again.records_stored) == (0, 0)
    assert len(scan_items(dynamodb, config.table.name)) == 19


def test_a_batch_past_the_streams_retention_is_reported_and_its_message_kept(gateway, tmp_path):
    config = environment(tmp_path)
    with running_runtime(gateway, config, tmp_path, handlers={}):
        pass
    sqs, kinesis = client(gateway, "sqs"), client(gateway, "kinesis")
    failures_url = sqs.get_queue_url(QueueName=config.queues.on_failure_name)["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName=config.queues.dead_letter_name)["QueueUrl"]
    (sequence,) = put_events(kinesis, config.stream.name, [event("evt-kept")], key=lambda e: "k")
    shard = kinesis.list_shards(StreamName=config.stream.name)["Shards"][0]["ShardId"]
    arn = kinesis.describe_stream_summary(StreamName=config.stream.name)[
        "StreamDescriptionSummary"
    ]["StreamARN"]
    gone = str(int(sequence) - 1)  # a record the stream does not hold (trimmed)
    body = {
        "KinesisBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": gone,
            "endSequenceNumber": sequence,
            "batchSize": 2,
            "streamArn": arn,
        }
    }
    sqs.send_message(QueueUrl=failures_url, MessageBody=json.dumps(body))

    report = replay_queue(
        sqs=sqs,
        kinesis=kinesis,
        dynamodb=client(gateway, "dynamodb"),
        on_failure_url=failures_url,
        table_name=config.table.name,
        dead_letter_url=dlq_url,
    )

    assert report.messages == 1 and report.messages_deleted == 0
    (problem,) = report.problems
    assert "the stream no longer has" in problem and shard in problem
    assert "message left in the queue" in problem
    assert report.records_not_replayed >= 1
