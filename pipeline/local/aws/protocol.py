"""Wire helpers: the JSON protocols of Kinesis/DynamoDB/SQS/SSM/Secrets Manager, CloudWatch's
smithy-rpc-v2-cbor, and the thread-local keep-alive connections to the engines."""

from __future__ import annotations

import http.client
import json
import threading
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import cbor2

from pipeline.local.aws.errors import AwsError, EngineUnavailable

KINESIS_CONTENT_TYPE = "application/x-amz-json-1.1"
DYNAMODB_CONTENT_TYPE = "application/x-amz-json-1.0"
DYNAMODB_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
CBOR_CONTENT_TYPE = "application/cbor"
# Signed like a client would, so the engines accept the gateway's own calls.
INTERNAL_AUTH = (
    "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0"
)


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()  # the JSON protocols send timestamps as epoch seconds
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def json_response(
    payload: Any, content_type: str, status: int = 200, crc: bool = False
) -> Response:
    body = json.dumps(payload, separators=(",", ":"), default=_json_default).encode("utf-8")
    headers = {"Content-Type": content_type, "x-amzn-RequestId": str(uuid.uuid4())}
    if crc:
        headers["x-amz-crc32"] = str(zlib.crc32(body))
    return Response(status, body, headers)


def json_error(error: AwsError, content_type: str, type_prefix: str = "") -> Response:
    return json_response(
        {"__type": type_prefix + error.code, "message": error.message},
        content_type,
        status=error.status,
        crc=content_type == DYNAMODB_CONTENT_TYPE,
    )


def cbor_response(payload: Any, status: int = 200) -> Response:
    return Response(
        status,
        cbor2.dumps(payload, datetime_as_timestamp=True, timezone=None),
        {
            "Content-Type": CBOR_CONTENT_TYPE,
            "smithy-protocol": "rpc-v2-cbor",
            "x-amzn-RequestId": str(uuid.uuid4()),
        },
    )


def cbor_error(error: AwsError) -> Response:
    response = cbor_response(
        {"__type": f"com.amazonaws.cloudwatch#{error.code}", "message": error.message},
        status=error.status,
    )
    # CloudWatch is awsQueryCompatible: botocore reads the query-style code from this header.
    response.headers["x-amzn-query-error"] = f"{error.code};Sender"
    return response


def parse_json(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AwsError("SerializationException", f"Request body is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise AwsError("SerializationException", "Request body must be a JSON object.")
    return parsed


class EngineClient:
    """Keep-alive HTTP/1.1 connections to one engine, one per calling thread."""

    def __init__(self, name: str, service: str, port: int, content_type: str) -> None:
        self.name = name
        self.service = service
        self.port = port
        self.content_type = content_type
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self._local.conn = conn
        return conn

    def call(self, target: str, body: bytes, auth: str | None = None) -> Response:
        headers = {
            "Content-Type": self.content_type,
            "X-Amz-Target": target,
            "X-Amz-Date": "20260101T000000Z",
            "Authorization": auth or INTERNAL_AUTH.format(service=self.service),
        }
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request("POST", "/", body=body, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
                return Response(
                    reply.status,
                    data,
                    {"Content-Type": reply.getheader("Content-Type", self.content_type)},
                )
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise EngineUnavailable(
                        f"{self.name} is not answering on 127.0.0.1:{self.port} ({exc}); "
                        "see its log in the state directory and restart the gateway"
                    ) from exc
        raise AssertionError("unreachable")

    def call_json(self, operation: str, target_prefix: str, payload: dict[str, Any]) -> Any:
        """The gateway's own call: JSON in, JSON out, engine errors raised as AwsError."""
        response = self.call(f"{target_prefix}.{operation}", json.dumps(payload).encode())
        parsed = json.loads(response.body) if response.body else {}
        if response.status != 200:
            code = str(parsed.get("__type", "InternalFailure")).rsplit("#", 1)[-1]
            raise AwsError(
                code, parsed.get("message") or parsed.get("Message") or "", response.status
            )
        return parsed
