"""Wire helpers: the JSON protocols of Kinesis/DynamoDB/SQS/SSM/Secrets Manager, CloudWatch's
smithy-rpc-v2-cbor, and the thread-local keep-alive connections to the engines."""

from __future__ import annotations

import json
import socket
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


# DynamoDB names its errors in three namespaces: request validation is coral's validator,
# protocol and signature errors coral's service framework, the rest DynamoDB's own.
DYNAMODB_VALIDATE_PREFIX = "com.amazon.coral.validate#"
DYNAMODB_SERVICE_PREFIX = "com.amazon.coral.service#"
CORAL_SERVICE_ERRORS = frozenset(
    {
        "SerializationException",
        "UnknownOperationException",
        "MissingAuthenticationTokenException",
        "IncompleteSignatureException",
        "InvalidSignatureException",
        "UnrecognizedClientException",
        "AccessDeniedException",
    }
)
HINT_HEADER = "x-redline-hint"


def dynamodb_error_prefix(code: str) -> str:
    if code == "ValidationException":
        return DYNAMODB_VALIDATE_PREFIX
    if code in CORAL_SERVICE_ERRORS:
        return DYNAMODB_SERVICE_PREFIX
    return DYNAMODB_ERROR_PREFIX


def json_error(error: AwsError, content_type: str, type_prefix: str = "") -> Response:
    # A code that carries its own namespace (`com.amazon.coral...#`) keeps it.
    payload = {"__type": error.code if "#" in error.code else type_prefix + error.code}
    if error.message:
        payload["message"] = error.message
    response = json_response(
        payload, content_type, status=error.status, crc=content_type == DYNAMODB_CONTENT_TYPE
    )
    if error.hint:
        response.headers[HINT_HEADER] = error.hint
    return response


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
        raise AwsError(
            "SerializationException", "", hint=f"request body is not valid JSON: {exc}"
        ) from exc
    if not isinstance(parsed, dict):
        raise AwsError("SerializationException", "", hint="request body must be a JSON object")
    return parsed


class EngineConnectionError(OSError):
    """The engine closed the connection or answered something that is not HTTP/1.1."""


class _Connection:
    """One keep-alive HTTP/1.1 connection to an engine.

    Deliberately minimal instead of http.client: the request leaves in a single send (http.client
    sends headers and body separately, one more syscall and a Nagle wait), and the reply's
    headers are read without the email parser. Together they halved the gateway's CPU per
    DynamoDB call.
    """

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def exchange(self, request: bytes) -> tuple[int, str | None, bytes, bool]:
        self.sock.sendall(request)
        status_line = self.reader.readline(65537)
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise EngineConnectionError(
                f"connection closed or bad status line {status_line[:80]!r}"
            )
        status = int(parts[1])
        length, content_type, chunked, close = None, None, False, False
        while True:
            line = self.reader.readline(65537)
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise EngineConnectionError("connection closed inside the headers")
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"content-type":
                content_type = value.strip().decode("latin-1")
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            chunks = []
            while (size := int(self.reader.readline().split(b";")[0].strip() or b"0", 16)) > 0:
                chunks.append(self.reader.read(size))
                self.reader.readline()
            while self.reader.readline() not in (b"\r\n", b"\n", b""):
                pass
            body = b"".join(chunks)
        else:
            body = self.reader.read(length) if length else b""
            if length and len(body) != length:
                raise EngineConnectionError("connection closed inside the body")
        return status, content_type, body, close


class EngineClient:
    """Keep-alive HTTP/1.1 connections to one engine, one per calling thread."""

    def __init__(self, name: str, service: str, port: int, content_type: str) -> None:
        self.name = name
        self.service = service
        self.port = port
        self.content_type = content_type
        self._local = threading.local()
        self._head = (
            f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n"
            "X-Amz-Date: 20260101T000000Z\r\n"
        )

    def call(self, target: str, body: bytes, auth: str | None = None) -> Response:
        request = (
            f"{self._head}X-Amz-Target: {target}\r\n"
            f"Authorization: {auth or INTERNAL_AUTH.format(service=self.service)}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1") + body
        for attempt in (1, 2):
            conn = getattr(self._local, "conn", None)
            try:
                if conn is None:
                    conn = self._local.conn = _Connection(self.port)
                status, content_type, data, close = conn.exchange(request)
                if close:
                    conn.close()
                    self._local.conn = None
                return Response(status, data, {"Content-Type": content_type or self.content_type})
            except (OSError, ValueError) as exc:
                # An idle keep-alive connection the engine closed: retry once on a new one.
                if conn is not None:
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
