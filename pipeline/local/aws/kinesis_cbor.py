"""Kinesis over CBOR (`application/x-amz-cbor-1.1`), the protocol the AWS SDK for Java, the
KCL and the KPL use by default.

The gateway translates: a CBOR request becomes the JSON request Kinesis would have received
(blobs as base64, timestamps as epoch seconds), goes through the same limits and engine as
JSON, and the answer goes back in CBOR with AWS's CBOR types: blobs as byte strings and
timestamps as tag 1 holding epoch milliseconds (the AWS SDK for Java writes and reads them
so). kinesalite cannot be given CBOR directly: it stores a CBOR byte string as the JSON of a
node Buffer (`{"type": "Buffer", "data": [...]}`) and hands that back to every reader, and it
answers timestamps as untagged float seconds.

Which fields are blobs and timestamps comes from botocore's Kinesis service model, so every
operation is covered without a list of its own.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

import botocore.session
import cbor2

from pipeline.local.aws.errors import AwsError
from pipeline.local.aws.protocol import HINT_HEADER, Response

CONTENT_TYPE = "application/x-amz-cbor-1.1"
# A tag-1 value this large cannot be seconds (it would be after the year 5000): it is the
# milliseconds the AWS SDK for Java writes.
MILLIS_THRESHOLD = 100_000_000_000


def is_cbor(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == CONTENT_TYPE


@cache
def _model():
    return botocore.session.get_session().get_service_model("kinesis")


def operation_names() -> frozenset[str]:
    return frozenset(_model().operation_names)


class EpochTag:
    """A tag-1 value as sent, before it is read as seconds or milliseconds."""

    def __init__(self, value: Any) -> None:
        self.value = value


class _TagOneReader:
    """Just enough CBOR to read what cbor2 refuses: tag 1 holding milliseconds (cbor2 reads
    tag 1 as seconds and fails past the year 9999). Other tags come back as cbor2.CBORTag."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def _take(self, count: int) -> bytes:
        if self.at + count > len(self.data):
            raise ValueError("CBOR data ends early")
        chunk = self.data[self.at : self.at + count]
        self.at += count
        return chunk

    def _argument(self, info: int) -> int | None:
        if info < 24:
            return info
        if info in (24, 25, 26, 27):
            return int.from_bytes(self._take(1 << (info - 24)), "big")
        if info == 31:
            return None  # indefinite length
        raise ValueError(f"reserved CBOR additional information {info}")

    def read(self) -> Any:
        initial = self._take(1)[0]
        major, info = initial >> 5, initial & 0x1F
        if major == 7:
            if info < 24:
                return {20: False, 21: True, 22: None, 23: None}.get(info)
            if info in (25, 26, 27):
                fmt = {25: ">e", 26: ">f", 27: ">d"}[info]
                return struct.unpack(fmt, self._take(struct.calcsize(fmt)))[0]
            raise ValueError(f"unexpected CBOR simple value {info}")
        argument = self._argument(info)
        if major == 0:
            return argument
        if major == 1:
            return -1 - argument
        if major in (2, 3):
            if argument is None:
                chunks = []
                while self.data[self.at] != 0xFF:
                    chunks.append(self.read())
                self.at += 1
                return (b"" if major == 2 else "").join(chunks)
            raw = self._take(argument)
            return raw if major == 2 else raw.decode("utf-8")
        if major == 4:
            return [self.read() for _ in self._items(argument)]
        if major == 5:
            return {self.read(): self.read() for _ in self._items(argument)}
        value = self.read()  # major 6: a tag
        return EpochTag(value) if argument == 1 else cbor2.CBORTag(argument, value)

    def _items(self, count: int | None):
        if count is not None:
            yield from range(count)
            return
        while self.data[self.at] != 0xFF:
            yield None
        self.at += 1


def decode(body: bytes) -> Any:
    try:
        return cbor2.loads(body)
    except cbor2.CBORDecodeValueError:
        pass  # most likely a tag-1 timestamp in milliseconds: read it with _TagOneReader
    except (cbor2.CBORDecodeError, ValueError, TypeError) as exc:
        raise AwsError("SerializationException", "") from exc
    try:
        return _TagOneReader(body).read()
    except (ValueError, TypeError, IndexError, UnicodeDecodeError) as exc:
        raise AwsError("SerializationException", "") from exc


def _epoch_seconds(value: Any) -> Any:
    if isinstance(value, EpochTag):
        value = value.value
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value / 1000 if abs(value) >= MILLIS_THRESHOLD else value
    return value


def _blob_text(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    return value


def _blob_bytes(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return value
    return value


def _timestamp_tag(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return cbor2.CBORTag(1, round(value * 1000))
    return value


def _walk(value: Any, shape: Any, blob, timestamp) -> Any:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {
            key: _walk(item, members[key], blob, timestamp) if key in members else item
            for key, item in value.items()
        }
    if kind == "list" and isinstance(value, list):
        return [_walk(item, shape.member, blob, timestamp) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {key: _walk(item, shape.value, blob, timestamp) for key, item in value.items()}
    if kind == "blob":
        return blob(value)
    if kind == "timestamp":
        return timestamp(value)
    return value


def _json_default(value: Any) -> Any:
    # Types JSON lacks, in fields the model does not call blobs or timestamps: hand the
    # engine something it will refuse with its own validation message.
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, EpochTag):
        return value.value
    if isinstance(value, cbor2.CBORTag):
        return value.value
    if isinstance(value, datetime):
        return value.timestamp()
    return str(value)


def to_json_request(operation: str, request: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    shape = _model().operation_model(operation).input_shape
    converted = _walk(request, shape, _blob_text, _epoch_seconds) if shape else request
    body = json.dumps(converted, default=_json_default).encode()
    return json.loads(body), body


def cbor_reply(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = b"" if payload is None else cbor2.dumps(payload)
    reply_headers = {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": str(uuid.uuid4())}
    reply_headers.update(headers or {})
    return Response(status, body, reply_headers)


def error_reply(error: AwsError) -> Response:
    payload: dict[str, Any] = {"__type": error.code}
    if error.message:
        payload["message"] = error.message
    return cbor_reply(payload, error.status, {HINT_HEADER: error.hint} if error.hint else None)


def to_cbor_response(operation: str, response: Response) -> Response:
    """The JSON answer (from the engine or the gateway's limits) in CBOR."""
    extra = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in ("content-type", "x-amz-crc32")
    }
    if not response.body:
        return cbor_reply(None, response.status, extra)
    payload = json.loads(response.body)
    if response.status == 200:
        shape = _model().operation_model(operation).output_shape
        if shape is not None:
            payload = _walk(payload, shape, _blob_bytes, _timestamp_tag)
    return cbor_reply(payload, response.status, extra)


def handle(
    front: Any,
    operation: str,
    body: bytes,
    auth: str,
    authenticate: Callable[[], None] = lambda: None,
) -> Response:
    """Serve one CBOR Kinesis call through `front` (a KinesisFront), answering in CBOR."""
    if operation not in operation_names():
        return cbor_reply({"__type": "UnknownOperationException"}, 400)
    if not body:
        return cbor_reply({"__type": "SerializationException"}, 400)
    decoded = decode(body)
    if not isinstance(decoded, dict):
        return cbor_reply({"__type": "SerializationException"}, 400)
    authenticate()  # after the checks AWS makes first, as for JSON
    request, json_body = to_json_request(operation, decoded)
    return to_cbor_response(operation, front.handle(operation, json_body, request, auth))


__all__ = ["CONTENT_TYPE", "error_reply", "handle", "is_cbor", "to_cbor_response"]
