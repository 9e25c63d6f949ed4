"""moto-backed table and queue shaped as Terraform and the local stack make them."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest

TABLE_NAME = "redline-events-test"
TYPE_INDEX_NAME = "by_type"
QUEUE_NAME = "redline-dlq-test"
ENVIRONMENT = "test"


@dataclass
class FakeAws:
    dynamodb: Any
    sqs: Any
    queue_url: str

    def items(self) -> dict[str, dict]:
        pages = self.dynamodb.get_paginator("scan").paginate(TableName=TABLE_NAME)
        return {item["event_id"]["S"]: item for page in pages for item in page["Items"]}

    def dead_letters(self) -> list[dict]:
        messages = []
        for _ in range(100):
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            )
            batch = response.get("Messages", [])
            if not batch:
                break
            messages.extend(batch)
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
                ],
            )
        return messages


def set_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_SESSION_TOKEN": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "ENVIRONMENT": ENVIRONMENT,
        "POWERTOOLS_METRICS_NAMESPACE": "Redline",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def create_table(dynamodb: Any) -> None:
    dynamodb.create_table(
        TableName=TABLE_NAME,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "event_id", "AttributeType": "S"},
            {"AttributeName": "type", "AttributeType": "S"},
            {"AttributeName": "produced_at", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "event_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": TYPE_INDEX_NAME,
                "KeySchema": [
                    {"AttributeName": "type", "KeyType": "HASH"},
                    {"AttributeName": "produced_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )


def make_fake_aws() -> FakeAws:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    create_table(dynamodb)
    queue_url = sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
    return FakeAws(dynamodb=dynamodb, sqs=sqs, queue_url=queue_url)


def cold_start_error(module_name: str, monkeypatch: pytest.MonkeyPatch, missing: str) -> str:
    """The message a cold start gives when the environment variable `missing` is not set."""
    from pipeline.handler_env import HandlerEnvironmentError

    monkeypatch.delenv(missing)
    with pytest.raises(HandlerEnvironmentError) as error:
        fresh_import(module_name)
    return str(error.value)


def fresh_import(module_name: str) -> ModuleType:
    """Import a handler module as a cold start would (module-level setup runs again)."""
    sys.modules.pop(module_name, None)
    return importlib.import_module(module_name)
