"""Handlers the runtime's integration tests run in place of the real ones (by module path).

They write to the real table through the real endpoint, so what the tests assert is what a
user would see. Faults are chosen by the record itself (its JSON `fault` member), so one test
can mix good records with bad ones:
- "poison": the record is dead-lettered (sent to DLQ_URL with its reason), not retried;
- "raise": the handler raises while this record is in the batch;
- otherwise the record is stored (event_id, type, produced_at, sequence_number, stored_at).
"""

from __future__ import annotations

import base64
import json
import os
import time
from decimal import Decimal

import boto3
from botocore.config import Config

_config = Config(retries={"mode": "standard", "max_attempts": 10})
_dynamodb = boto3.client("dynamodb", config=_config)
_sqs = boto3.client("sqs", config=_config)
TABLE_NAME = os.environ["TABLE_NAME"]
DLQ_URL = os.environ.get("DLQ_URL", "")
RECORD_DELAY_S = float(os.environ.get("TEST_RECORD_DELAY_S", "0"))


def _item(event: dict, record: dict) -> dict:
    return {
        "event_id": {"S": event["event_id"]},
        "type": {"S": event.get("type", "test")},
        "produced_at": {"N": str(Decimal(repr(float(event.get("produced_at", time.time())))))},
        "sequence_number": {"S": record["kinesis"]["sequenceNumber"]},
        "partition_key": {"S": record["kinesis"]["partitionKey"]},
        "stored_at": {"N": repr(time.time())},
        "payload": {"S": json.dumps(event.get("payload", {}))},
    }


def _write(items: list[dict]) -> None:
    """BatchWriteItem with retries of UnprocessedItems (throttling): nothing is dropped."""
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        delay = 0.05
        while requests:
            try:
                response = _dynamodb.batch_write_item(RequestItems={TABLE_NAME: requests})
            except _dynamodb.exceptions.ProvisionedThroughputExceededException:
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            requests = response.get("UnprocessedItems", {}).get(TABLE_NAME, [])
            if requests:
                time.sleep(delay)
                delay = min(delay * 2, 1.0)


def kinesis_handler(event, context):
    items = []
    for record in event["Records"]:
        raw = base64.b64decode(record["kinesis"]["data"])
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("fault") == "poison":
            _sqs.send_message(
                QueueUrl=DLQ_URL,
                MessageBody=json.dumps(
                    {
                        "reason": "not a valid event",
                        "event_id": body.get("event_id") if isinstance(body, dict) else None,
                        "sequence_number": record["kinesis"]["sequenceNumber"],
                        "data": record["kinesis"]["data"],
                    }
                ),
            )
            continue
        if body.get("fault") == "raise":
            raise RuntimeError(f"cannot process {body['event_id']}")
        items.append(_item(body, record))
        if RECORD_DELAY_S:
            time.sleep(RECORD_DELAY_S)
    _write(items)
    return {"batchItemFailures": []}


def api_handler(event, context):
    path = event["rawPath"]
    if path == "/health":
        return {
            "statusCode": 200,
            "body": json.dumps({"status": "ok"}),
            "headers": {"content-type": "application/json"},
        }
    if event["routeKey"] == "GET /events/{event_id}":
        event_id = event["pathParameters"]["event_id"]
        found = _dynamodb.get_item(TableName=TABLE_NAME, Key={"event_id": {"S": event_id}})
        if "Item" not in found:
            return {"statusCode": 404, "body": json.dumps({"message": f"{event_id} not found"})}
        item = {k: next(iter(v.values())) for k, v in found["Item"].items()}
        return {
            "statusCode": 200,
            "body": json.dumps(item),
            "headers": {"content-type": "application/json"},
        }
    # The shorthand: no statusCode, a JSON value becomes a 200 application/json body.
    return {"route": event["routeKey"], "query": event.get("queryStringParameters", {})}
