"""The runtime's integration fixtures: the real gateway on a free port, the runtime in-process.

One gateway per test module (it is the slow part to start); every test provisions its own
environment (unique stream, table and queue names), so tests never see each other's data.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from pipeline.config import EnvironmentConfig, load_environment, parse_environment, to_tfvars
from pipeline.local.aws import GatewayHandle, start_gateway
from pipeline.local.runtime.app import LambdaRuntime, RuntimeOptions
from pipeline.local.stack import free_port

FAULT_HANDLERS = "tests.integration.runtime.fault_handlers"
START_TIMEOUT_S = 90


def wait_until(predicate: Callable[[], Any], timeout_s: float, what: str, interval_s=0.2):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what} (last: {last!r})")


def client(gateway: GatewayHandle, service: str, **config: Any):
    """A boto3 client on the gateway, SDK retries off (the tests see every throttle)."""
    return boto3.client(
        service,
        endpoint_url=gateway.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(**({"retries": {"total_max_attempts": 1}} | config)),
    )


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[GatewayHandle]:
    with start_gateway(port=0, state_dir=tmp_path_factory.mktemp("gateway")) as handle:
        yield handle


def environment(tmp_path: Path, overrides: dict[str, Any] | None = None) -> EnvironmentConfig:
    """The local environment file with unique names and `overrides` merged in (per section)."""
    data = to_tfvars(load_environment("local"))
    suffix = uuid.uuid4().hex[:8]
    data["environment"] = f"local-t{suffix}"  # auth NONE: a local environment
    data["stream"]["name"] = f"redline-events-{suffix}"
    data["table"]["name"] = f"redline-events-{suffix}"
    data["queues"]["dead_letter_name"] = f"redline-dlq-{suffix}"
    data["queues"]["on_failure_name"] = f"redline-ingest-failures-{suffix}"
    for section, values in (overrides or {}).items():
        if isinstance(values, dict):
            for key, value in values.items():
                if isinstance(value, dict):
                    data[section][key] = {**data[section][key], **value}
                else:
                    data[section][key] = value
        else:
            data[section] = values
    path = tmp_path / f"{data['environment']}.tfvars.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return parse_environment(data, source=str(path))


@contextlib.contextmanager
def running_runtime(
    gateway: GatewayHandle, config: EnvironmentConfig, tmp_path: Path, **options: Any
) -> Iterator[LambdaRuntime]:
    runtime = LambdaRuntime(
        RuntimeOptions(
            config=config,
            aws_endpoint_url=gateway.endpoint_url,
            api_port=free_port(),
            lambda_port=free_port(),
            state_dir=tmp_path / "state",
            control_token=gateway.token,
            **options,
        )
    )
    try:
        runtime.start()
        yield runtime
    finally:
        runtime.stop()


def event(event_id: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "type": "order",
        "source": "tests",
        "produced_at": time.time(),
        "payload": {"n": 1},
        **extra,
    }


def put_events(kinesis, stream: str, events: list[dict], key: Callable[[dict], str]) -> list[str]:
    """PutRecords in order, retrying throttled entries; returns the sequence numbers."""
    sequences: list[str] = []
    for start in range(0, len(events), 100):
        chunk = events[start : start + 100]
        pending = list(range(len(chunk)))
        assigned: dict[int, str] = {}
        deadline = time.monotonic() + 60
        while pending and time.monotonic() < deadline:
            response = kinesis.put_records(
                StreamName=stream,
                Records=[
                    {"Data": json.dumps(chunk[i]).encode(), "PartitionKey": key(chunk[i])}
                    for i in pending
                ],
            )
            retry = []
            for index, entry in zip(pending, response["Records"], strict=True):
                if "SequenceNumber" in entry:
                    assigned[index] = entry["SequenceNumber"]
                else:
                    retry.append(index)
            pending = retry
            if pending:
                time.sleep(0.2)
        assert not pending, "the stream kept throttling the test's producer"
        sequences.extend(assigned[i] for i in range(len(chunk)))
    return sequences


def scan_items(dynamodb, table: str) -> list[dict[str, Any]]:
    items, kwargs = [], {"TableName": table, "ConsistentRead": True}
    while True:
        page = dynamodb.scan(**kwargs)
        items.extend({k: next(iter(v.values())) for k, v in item.items()} for item in page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def drain_queue(sqs, url: str) -> list[dict[str, Any]]:
    messages = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def metric_sum(
    cloudwatch, namespace: str, name: str, dimensions: dict[str, str], since: float
) -> float:
    response = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": name,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                    },
                    "Period": 1,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=datetime.fromtimestamp(since - 5, tz=UTC),
        EndTime=datetime.fromtimestamp(time.time() + 5, tz=UTC),
    )
    return sum(response["MetricDataResults"][0]["Values"])
