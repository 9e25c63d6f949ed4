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


def serve_partiql_inserts(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's PartiQL cannot read parameters in an INSERT's VALUE: answer BatchExecuteStatement
    for the statements `pipeline.partiql_insert` builds, each as a PutItem that fails when the
    key is taken (DuplicateItem), as DynamoDB and the local gateway answer them."""
    from moto.dynamodb.exceptions import ConditionalCheckFailed, DynamodbException
    from moto.dynamodb.models import DynamoDBBackend

    from pipeline.partiql_insert import DUPLICATE_ITEM, DUPLICATE_ITEM_MESSAGE, parse_insert

    def batch_execute_statement(backend: Any, statements: list[dict[str, Any]]) -> list[dict]:
        responses = []
        for statement in statements:
            table_name, item = parse_insert(statement["Statement"], statement.get("Parameters"))
            hash_key = backend.get_table(table_name).hash_key_attr
            try:
                backend.put_item(
                    table_name,
                    item,
                    condition_expression="attribute_not_exists(#key)",
                    expression_attribute_names={"#key": hash_key},
                )
                responses.append({"TableName": table_name})
            except ConditionalCheckFailed:
                error = {"Code": DUPLICATE_ITEM, "Message": DUPLICATE_ITEM_MESSAGE}
                responses.append({"TableName": table_name, "Error": error})
            except DynamodbException as exc:
                error = {"Code": "ValidationError", "Message": exc.message}
                responses.append({"TableName": table_name, "Error": error})
        return responses

    monkeypatch.setattr(DynamoDBBackend, "batch_execute_statement", batch_execute_statement)


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
