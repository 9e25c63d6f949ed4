"""Fault runs through the real local stack: after the fault, every record produced is stored
or dead-lettered (or waits in the on-failure queue for `make replay`): nothing is lost."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from pipeline.local.aws import start_gateway
from pipeline.local.aws.faults import THROTTLE_WRITES_VARIABLE
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

THROTTLE_S = 8  # the knob: AWS-sized fault runs use 60


def test_every_write_throttled_for_a_while_loses_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(THROTTLE_WRITES_VARIABLE, str(THROTTLE_S))
    with start_gateway(port=0, state_dir=tmp_path / "gateway") as gateway:
        monkeypatch.delenv(THROTTLE_WRITES_VARIABLE)
        config = environment(tmp_path)
        events = [event(f"evt-{i:04d}") for i in range(200)]
        with running_runtime(gateway, config, tmp_path):
            dynamodb, sqs = client(gateway, "dynamodb"), client(gateway, "sqs")
            with pytest.raises(ClientError) as probe:  # what every writer sees during the fault
                dynamodb.put_item(TableName=config.table.name, Item={"event_id": {"S": "probe"}})
            assert probe.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
            put_events(client(gateway, "kinesis"), config.stream.name, events, lambda e: "k")
            wait_until(
                lambda: len(scan_items(dynamodb, config.table.name)) >= len(events),
                180,
                "every record stored after the fault",
                interval_s=2,
            )
        stored = sorted(item["event_id"] for item in scan_items(dynamodb, config.table.name))
        dlq = sqs.get_queue_url(QueueName=config.queues.dead_letter_name)["QueueUrl"]
        failures = sqs.get_queue_url(QueueName=config.queues.on_failure_name)["QueueUrl"]
        assert stored == [e["event_id"] for e in events]
        assert drain_queue(sqs, dlq) == [] and drain_queue(sqs, failures) == []
