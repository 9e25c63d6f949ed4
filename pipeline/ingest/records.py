"""One Kinesis record -> an item to store, or a rejection to dead-letter (no I/O here).

The record handler of the ingest BatchProcessor is `classify_record`: it decodes the
record (base64 -> UTF-8 -> JSON), validates it against `pipeline.contracts.Event`, and
turns it into a DynamoDB item in wire form. Anything DynamoDB would refuse (too big, a
number out of range, too deep) is rejected here, because one refused item makes the whole
BatchWriteItem call fail and would block the shard.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import os
from dataclasses import dataclass
from decimal import DecimalException
from enum import StrEnum
from typing import Any

from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import (
    KinesisStreamRecord,
)
from boto3.dynamodb.types import DYNAMODB_CONTEXT
from pydantic import ValidationError

from pipeline import aws_limits as limits
from pipeline.capacity import item_size
from pipeline.contracts import Event

DYNAMODB_MAX_NESTING_DEPTH = limits.DYNAMODB_MAX_NESTING_DEPTH
# Key names echoed in a detail are cut to this many characters (a key can be 64 KB).
_MAX_ECHOED_KEY_CHARS = 40
# An item's DynamoDB size is at most ~1.5x its JSON text (a one-digit number in a list:
# 2 JSON characters, 3 bytes stored); below this many bytes the exact size is not needed.
_EXACT_SIZE_ABOVE_BYTES = limits.DYNAMODB_MAX_ITEM_BYTES // 2
_MAX_ERRORS_IN_DETAIL = 5
# Stored events expire (DynamoDB TTL on `expires_at`, docs/pipeline.md) this many days after
# they arrived, unless the function's ITEM_TTL_DAYS says otherwise: load-test data never
# stays for good.
ITEM_TTL_DAYS_DEFAULT = 30
ITEM_TTL_DAYS_MAX = 3650
TTL_ATTRIBUTE = "expires_at"
# A digest of the event's content (docs/pipeline.md "Duplicates"): the conditional write
# stores an event_id once and takes it again only with the same digest.
CONTENT_HASH_ATTRIBUTE = "content_hash"


def item_ttl_seconds(environ: dict[str, str] | None = None) -> int:
    """ITEM_TTL_DAYS (1..3650, default 30) in seconds; raises ValueError naming the variable."""
    text = (os.environ if environ is None else environ).get("ITEM_TTL_DAYS", "").strip()
    if not text:
        return ITEM_TTL_DAYS_DEFAULT * 86400
    if not text.isdigit() or not 1 <= int(text) <= ITEM_TTL_DAYS_MAX:
        raise ValueError(f"ITEM_TTL_DAYS must be a whole number of days 1..3650, got {text!r}")
    return int(text) * 86400


_ITEM_TTL_S = item_ttl_seconds()
_MAX_ECHOED_EVENT_ID_CHARS = 256


class DeadLetterReason(StrEnum):
    INVALID_BASE64 = "invalid_base64"
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    CONTRACT_VIOLATION = "contract_violation"
    NOT_STORABLE = "not_storable"
    ITEM_TOO_LARGE = "item_too_large"
    # DynamoDB answered ValidationException for the item on its own (a check we lack).
    DYNAMODB_REFUSED = "dynamodb_refused"
    # Another event with this event_id and different content is stored (or came first).
    CONFLICT = "conflict"


@dataclass(slots=True)
class Accepted:
    """A valid event in DynamoDB wire form; `stored_at` is added when it is written."""

    event_id: str
    produced_at: float
    item: dict[str, dict[str, Any]]


@dataclass(slots=True)
class Rejected:
    """A record that cannot be stored; it goes to the dead-letter queue with its reason."""

    reason: DeadLetterReason
    detail: str
    event_id: str | None


class NotStorableError(ValueError):
    """A JSON value DynamoDB cannot hold; the message names where it is."""


def classify_record(record: KinesisStreamRecord) -> Accepted | Rejected:
    """The BatchProcessor record handler: never raises for bad input, only for bugs."""
    kinesis = record.kinesis
    try:
        raw = base64.b64decode(kinesis.data, validate=True)
    except (binascii.Error, ValueError) as exc:
        return Rejected(DeadLetterReason.INVALID_BASE64, f"data is not base64: {exc}", None)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejected(
            DeadLetterReason.NOT_UTF8,
            f"data is not UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start}",
            None,
        )
    try:
        event = Event.model_validate_json(text, strict=True)
    except ValidationError as exc:
        return _rejection_for(exc, text)

    try:
        item = event_item(event, kinesis.approximate_arrival_timestamp, kinesis.sequence_number)
    except NotStorableError as exc:
        return Rejected(DeadLetterReason.NOT_STORABLE, str(exc), event.event_id)
    if len(raw) > _EXACT_SIZE_ABOVE_BYTES:
        # stored_at is not in the item yet: count it as a number of 20 digits.
        size = item_size(item) + len("stored_at") + 11
        if size > limits.DYNAMODB_MAX_ITEM_BYTES:
            return Rejected(
                DeadLetterReason.ITEM_TOO_LARGE,
                f"the stored item would be {size} bytes; DynamoDB's limit is "
                f"{limits.DYNAMODB_MAX_ITEM_BYTES} bytes",
                event.event_id,
            )
    return Accepted(event.event_id, event.produced_at, item)


def event_item(event: Event, arrived_at: float, sequence_number: str) -> dict[str, dict[str, Any]]:
    """The table item in wire form (without stored_at); raises NotStorableError."""
    return {
        "event_id": {"S": event.event_id},
        "type": {"S": event.type},
        "source": {"S": event.source},
        "produced_at": {"N": _number_text(event.produced_at, "produced_at")},
        "payload": to_attribute_value(event.payload, "payload", 1),
        "arrived_at": {"N": _number_text(float(arrived_at), "arrived_at")},
        "sequence_number": {"S": sequence_number},
        # Epoch seconds, as DynamoDB TTL requires.
        TTL_ATTRIBUTE: {"N": str(int(arrived_at) + _ITEM_TTL_S)},
        CONTENT_HASH_ATTRIBUTE: {"S": content_hash(event)},
    }


def content_hash(event: Event) -> str:
    """SHA-256 (hex) of the event's fields as canonical JSON (sorted keys, no spaces).

    Two records of the same event hash alike whatever their key order or spacing; any
    difference in a field or the payload changes the hash.
    """
    canonical = json.dumps(
        [event.event_id, event.type, event.source, event.produced_at, event.payload],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def to_attribute_value(value: Any, where: str, depth: int) -> dict[str, Any]:
    """A JSON value as a DynamoDB attribute value; raises NotStorableError naming `where`."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):  # before int: bool is an int
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": _number_text(value, where)}
    if value is None:
        return {"NULL": True}
    if depth > DYNAMODB_MAX_NESTING_DEPTH:
        raise NotStorableError(
            f"{where}: nested deeper than DynamoDB's {DYNAMODB_MAX_NESTING_DEPTH} levels"
        )
    if isinstance(value, dict):
        return {
            "M": {
                _attribute_name(k, where): to_attribute_value(v, _path(where, k), depth + 1)
                for k, v in value.items()
            }
        }
    if isinstance(value, list):
        return {
            "L": [to_attribute_value(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
        }
    raise NotStorableError(f"{where}: {type(value).__name__} is not a JSON value")


def _path(where: str, key: str) -> str:
    if len(key) > _MAX_ECHOED_KEY_CHARS:
        key = key[:_MAX_ECHOED_KEY_CHARS] + "..."
    return f"{where}.{key}"


def _attribute_name(key: str, where: str) -> str:
    """A map key as DynamoDB takes it: 1 byte to just under 64 KB of UTF-8, at any depth."""
    size = len(key.encode("utf-8", "surrogatepass"))
    if size < limits.DYNAMODB_ATTRIBUTE_NAME_MIN_BYTES:
        raise NotStorableError(f"{where}: has an empty key (DynamoDB refuses empty names)")
    if size > limits.DYNAMODB_ATTRIBUTE_NAME_MAX_BYTES:
        raise NotStorableError(
            f"{_path(where, key)}: a key of {size} bytes (DynamoDB's limit is "
            f"{limits.DYNAMODB_ATTRIBUTE_NAME_MAX_BYTES} bytes)"
        )
    return key


def _number_text(value: int | float, where: str) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise NotStorableError(f"{where}: {value} is not a finite number (not valid JSON)")
    text = repr(value)
    try:
        # DynamoDB numbers: 38 significant digits, magnitude 1e-130 .. 1e126.
        DYNAMODB_CONTEXT.create_decimal(text)
    except DecimalException:
        raise NotStorableError(
            f"{where}: {text[:60]} does not fit a DynamoDB number "
            "(38 significant digits, magnitude 1e-130 to 1e126)"
        ) from None
    return text


def _rejection_for(error: ValidationError, text: str) -> Rejected:
    problems = error.errors(include_url=False)
    if any(p["type"] == "json_invalid" for p in problems):
        message = problems[0]["msg"].removeprefix("Invalid JSON: ")
        return Rejected(DeadLetterReason.NOT_JSON, f"data is not JSON: {message}", None)
    details = []
    for problem in problems[:_MAX_ERRORS_IN_DETAIL]:
        field = ".".join(str(part) for part in problem["loc"]) or "(event)"
        details.append(f"{field}: {problem['msg'].removeprefix('Value error, ')}")
    if len(problems) > _MAX_ERRORS_IN_DETAIL:
        details.append(f"and {len(problems) - _MAX_ERRORS_IN_DETAIL} more")
    return Rejected(DeadLetterReason.CONTRACT_VIOLATION, "; ".join(details), _readable_id(text))


def _readable_id(text: str) -> str | None:
    """The event_id of a record that broke the contract, when one can be read."""
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if isinstance(document, dict) and isinstance(document.get("event_id"), str):
        return document["event_id"][:_MAX_ECHOED_EVENT_ID_CHARS]
    return None
