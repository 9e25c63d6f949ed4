"""The Kinesis event source mapping against the real gateway: faults a user relies on."""

from __future__ import annotations

import json
import time

import pytest

from tests.integration.runtime.conftest import (
    FAULT_HANDLERS,
    drain_queue,
    environment,
    event,
    metric_sum,
    put_events,
    running_runtime,
    scan_items,
    wait_until,
)

pytestmark = pytest.mark.integration


def _by_key_in_store_order(items):
    ordered: dict[str, list[int]] = {}
    for item in sorted(items, key=lambda i: float(i["stored_at"])):
        ordered.setdefault(item["partition_key"], []).append(int(item["sequence_number"]))
    return ordered


def test_handler_raising_on_one_record_with_bisect_retries_only_it(gateway, tmp_path):
    config = environment(
        tmp_path,
        {
            "ingest": {
                "batch_size": 16,
                "maximum_batching_window_seconds": 1,
                "bisect_batch_on_function_error": True,
                "maximum_retry_attempts": 2,
            }
        },
    )
    kinesis, dynamodb, sqs = (gateway.client(s) for s in ("kinesis", "dynamodb", "sqs"))
    events = [event(f"good-{i}") for i in range(40)]
    bad = event("bad-one", fault="raise")
    events.insert(21, bad)
    keys = ["k1", "k2", "k3", "k4"]
    with running_runtime(
        gateway, config, tmp_path, handlers={"ingest": f"{FAULT_HANDLERS}.kinesis_handler"}
    ) as runtime:
        sequences = put_events(
            kinesis,
            config.stream.name,
            events,
            key=lambda e: (
                keys[int(e["event_id"].split("-")[-1]) % 4]
                if e["event_id"].startswith("good")
                else "k1"
            ),
        )
        resources = runtime.resources
        failures = wait_until(
            lambda: drain_queue(sqs, resources.on_failure_queue_url), 60, "the on-failure message"
        )
        items = wait_until(
            lambda: (
                (found := scan_items(dynamodb, config.table.name)) and len(found) >= 40 and found
            ),
            60,
            "the 40 good records in the table",
        )
        stats = runtime.mapping.stats()["shardId-000000000000"]
    assert sorted(i["event_id"] for i in items) == sorted(
        e["event_id"] for e in events if e is not bad
    )
    assert len(failures) == 1
    message = json.loads(failures[0]["Body"])
    bad_sequence = sequences[21]
    assert message["KinesisBatchInfo"]["startSequenceNumber"] == bad_sequence
    assert message["KinesisBatchInfo"]["endSequenceNumber"] == bad_sequence
    assert message["KinesisBatchInfo"]["batchSize"] == 1
    assert message["KinesisBatchInfo"]["shardId"] == "shardId-000000000000"
    assert message["KinesisBatchInfo"]["streamArn"] == resources.stream_arn
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert stats["retries"] == 2 and stats["bisects"] >= 1
    assert stats["records_sent_on_failure"] == 1
    for key, order in _by_key_in_store_order(items).items():
        assert order == sorted(order), f"records of key {key} were stored out of order"


def test_reserved_concurrency_one_with_parallelization_four_throttles_and_loses_nothing(
    gateway, tmp_path
):
    config = environment(
        tmp_path,
        {
            "ingest": {
                "batch_size": 10,
                "maximum_batching_window_seconds": 0,
                "parallelization_factor": 4,
                "reserved_concurrency": 1,
            }
        },
    )
    kinesis, dynamodb, cloudwatch = (
        gateway.client(s) for s in ("kinesis", "dynamodb", "cloudwatch")
    )
    events = [event(f"e-{i}") for i in range(200)]
    started = time.time()
    with running_runtime(
        gateway,
        config,
        tmp_path,
        handlers={"ingest": f"{FAULT_HANDLERS}.kinesis_handler"},
        function_environment={"TEST_RECORD_DELAY_S": "0.01"},
    ) as runtime:
        put_events(
            kinesis,
            config.stream.name,
            events,
            key=lambda e: f"key-{int(e['event_id'].split('-')[1]) % 16}",
        )
        items = wait_until(
            lambda: (
                (found := scan_items(dynamodb, config.table.name)) and len(found) >= 200 and found
            ),
            90,
            "all 200 records in the table",
        )
        ingest = runtime.function("ingest")
        stats = runtime.mapping.stats()["shardId-000000000000"]
        throttles = ingest.stats.throttles
    assert len({i["event_id"] for i in items}) == 200
    assert throttles > 0 and stats["throttled_invocations"] == throttles
    assert ingest.stats.max_concurrency == 1
    assert stats["retries"] == 0 and stats["records_sent_on_failure"] == 0
    published = metric_sum(
        cloudwatch, "AWS/Lambda", "Throttles", {"FunctionName": ingest.spec.name}, started
    )
    assert published == throttles
    for key, order in _by_key_in_store_order(items).items():
        assert order == sorted(order), f"records of key {key} were stored out of order"
