"""The Kinesis event source mapping against the real gateway: faults a user relies on."""

from __future__ import annotations

import json
import time

import pytest

from pipeline import metrics as metric_names
from pipeline.local.aws import start_gateway
from tests.integration.runtime.conftest import (
    FAULT_HANDLERS,
    client,
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
    kinesis, dynamodb, sqs = (client(gateway, s) for s in ("kinesis", "dynamodb", "sqs"))
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
        client(gateway, s) for s in ("kinesis", "dynamodb", "cloudwatch")
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


# The deployed consumer: dead-lettering and backing off on a throttled table are its job.
INGEST_HANDLER = "pipeline.ingest.handler.lambda_handler"


def test_a_poison_record_is_dead_lettered_and_the_shard_keeps_moving(gateway, tmp_path):
    config = environment(
        tmp_path, {"ingest": {"batch_size": 50, "maximum_batching_window_seconds": 1}}
    )
    kinesis, dynamodb, sqs = (client(gateway, s) for s in ("kinesis", "dynamodb", "sqs"))
    good = [event(f"p-{i}") for i in range(30)]
    started = time.time()
    with running_runtime(gateway, config, tmp_path, handlers={"ingest": INGEST_HANDLER}) as rt:
        sequences = put_events(kinesis, config.stream.name, [*good[:15]], key=lambda e: "one")
        poison_sequence = kinesis.put_record(
            StreamName=config.stream.name, PartitionKey="one", Data=b"{this is not json"
        )["SequenceNumber"]
        sequences += put_events(kinesis, config.stream.name, good[15:], key=lambda e: "one")
        items = wait_until(
            lambda: (
                (found := scan_items(dynamodb, config.table.name)) and len(found) >= 30 and found
            ),
            60,
            "the 30 good records in the table",
        )
        dead = wait_until(
            lambda: drain_queue(sqs, rt.resources.dead_letter_queue_url),
            30,
            "the poison record in the dead-letter queue",
        )
        stats = rt.mapping.stats()["shardId-000000000000"]
        on_failure = drain_queue(sqs, rt.resources.on_failure_queue_url)
        stream_arn = rt.resources.stream_arn
    assert sorted(i["event_id"] for i in items) == sorted(e["event_id"] for e in good)
    assert len(dead) == 1
    body = json.loads(dead[0]["Body"])
    assert body["sequence_number"] == poison_sequence
    assert body["data"] == "e3RoaXMgaXMgbm90IGpzb24="  # the record's original base64
    assert body["reason"] == "not_json"
    assert body["shard_id"] == "shardId-000000000000"
    assert body["partition_key"] == "one"
    assert body["event_source_arn"] == stream_arn
    assert stats["records_succeeded"] == 31 and stats["retries"] == 0
    assert on_failure == []
    # The handler's EMF lines reached the local CloudWatch (as CloudWatch Logs extracts them),
    # next to the metrics Lambda itself publishes.
    cloudwatch = client(gateway, "cloudwatch")
    pipeline_dims = {"service": "ingest", "environment": config.environment}
    assert (
        metric_sum(cloudwatch, "Redline", metric_names.RECORDS_STORED.name, pipeline_dims, started)
        == 30
    )
    assert (
        metric_sum(
            cloudwatch, "Redline", metric_names.RECORDS_DEAD_LETTERED.name, pipeline_dims, started
        )
        == 1
    )
    function_dims = {"FunctionName": f"redline-ingest-{config.environment}"}
    assert metric_sum(cloudwatch, "AWS/Lambda", "Invocations", function_dims, started) >= 1
    assert metric_sum(cloudwatch, "AWS/Lambda", "Errors", function_dims, started) == 0


@pytest.fixture(scope="module")
def tight_gateway(tmp_path_factory):
    """A gateway whose DynamoDB burst is 1 s, so a small table throttles within the test."""
    with start_gateway(port=0, burst_seconds=1, state_dir=tmp_path_factory.mktemp("tight")) as gw:
        yield gw


def test_table_throttling_during_a_burst_backs_off_and_loses_nothing(tight_gateway, tmp_path):
    config = environment(
        tmp_path,
        {
            "table": {"write_capacity": 10, "type_index": {"write_capacity": 10}},
            "ingest": {"batch_size": 100, "maximum_batching_window_seconds": 0},
        },
    )
    gateway = tight_gateway
    kinesis, dynamodb, sqs, cloudwatch = (
        client(gateway, s) for s in ("kinesis", "dynamodb", "sqs", "cloudwatch")
    )
    burst = [event(f"b-{i}") for i in range(150)]
    started = time.time()
    with running_runtime(gateway, config, tmp_path, handlers={"ingest": INGEST_HANDLER}) as rt:
        put_events(kinesis, config.stream.name, burst, key=lambda e: e["event_id"])
        wait_until(
            lambda: len(scan_items(dynamodb, config.table.name)) >= 150,
            120,
            "all 150 records despite the throttled table",
            interval_s=1.0,
        )
        risen = rt.mapping.stats()["shardId-000000000000"]["max_iterator_age_ms"]
        fresh = event("after-the-burst")
        put_events(kinesis, config.stream.name, [fresh], key=lambda e: "k")
        wait_until(
            lambda: dynamodb.get_item(
                TableName=config.table.name,
                Key={"event_id": {"S": "after-the-burst"}},
                ConsistentRead=True,
            ).get("Item"),
            60,
            "the record put after the burst",
        )
        fallen = rt.mapping.stats()["shardId-000000000000"]["last_iterator_age_ms"]
        on_failure = drain_queue(sqs, rt.resources.on_failure_queue_url)
    throttled = metric_sum(
        cloudwatch, "AWS/DynamoDB", "WriteThrottleEvents", {"TableName": config.table.name}, started
    )
    assert throttled > 0, "the table never throttled: the test did not test anything"
    assert risen > 5000, f"iterator age should rise while the table throttles ({risen:.0f} ms)"
    assert fallen < risen / 2 and fallen < 5000, f"iterator age did not fall back ({fallen} ms)"
    assert on_failure == []
