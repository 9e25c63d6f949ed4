"""Real-shaped Lambda events for tests (Kinesis batches, HTTP API payload format 2.0).

`python -m tests.events.generate` writes the committed JSON files from these builders.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any
from urllib.parse import quote, urlencode

REGION = "us-east-1"
ACCOUNT = "000000000000"
STREAM_ARN = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/redline-events-local"
SHARD_ID = "shardId-000000000000"
# Kinesis sequence numbers are 56-digit decimal strings, increasing within a shard.
FIRST_SEQUENCE = 49_656_750_330_471_046_113_283_402_478_938_276_513_129_284_932_016_979_970
PRODUCED_AT = 1_764_393_600.25  # 2025-11-29T05:20:00.25Z
ARRIVAL_DELAY_S = 0.05


def sequence_number(index: int) -> str:
    return str(FIRST_SEQUENCE + index * 2**20)


def event_body(index: int, **overrides: Any) -> dict[str, Any]:
    body = {
        "event_id": f"evt-{index:06d}",
        "type": ("click", "view", "purchase")[index % 3],
        "source": "loadgen-1",
        "produced_at": PRODUCED_AT + index / 1000,
        "payload": {"user": f"u-{index % 17}", "amount": index * 1.5, "tags": ["a", "b"]},
    }
    body.update(overrides)
    return body


def kinesis_record(index: int, data: bytes | dict[str, Any], partition_key: str = "") -> dict:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode("utf-8")
    sequence = sequence_number(index)
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key or f"pk-{index}",
            "sequenceNumber": sequence,
            "data": base64.b64encode(raw).decode("ascii"),
            "approximateArrivalTimestamp": round(PRODUCED_AT + index / 1000 + ARRIVAL_DELAY_S, 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{SHARD_ID}:{sequence}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT}:role/redline-ingest-local",
        "awsRegion": REGION,
        "eventSourceARN": STREAM_ARN,
    }


def kinesis_event(records: list[dict]) -> dict:
    return {"Records": records}


def good_batch(count: int, start: int = 0) -> dict:
    return kinesis_event([kinesis_record(i, event_body(i)) for i in range(start, start + count)])


def http_event(
    method: str,
    path: str,
    query: dict[str, str] | None = None,
    route_key: str = "$default",
    path_parameters: dict[str, str] | None = None,
) -> dict:
    """An HTTP API (payload format 2.0) request as API Gateway sends it to Lambda."""
    raw_query = urlencode(query or {}, quote_via=quote)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": {
            "accept": "application/json",
            "content-length": "0",
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "user-agent": "curl/8.5.0",
            "x-amzn-trace-id": "Root=1-6749a000-0123456789abcdef01234567",
            "x-forwarded-for": "198.51.100.7",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.7",
                "userAgent": "curl/8.5.0",
            },
            "requestId": "CgN7bgKvIAMEJYw=",
            "routeKey": route_key,
            "stage": "$default",
            "time": "29/Nov/2025:05:20:00 +0000",
            "timeEpoch": 1764393600000,
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    return event


def with_query(event: dict, query: dict[str, str]) -> dict:
    changed = copy.deepcopy(event)
    changed["queryStringParameters"] = dict(query)
    changed["rawQueryString"] = urlencode(query, quote_via=quote)
    return changed
