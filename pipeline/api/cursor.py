"""The opaque page cursor of GET /events.

A cursor is base64url(JSON) + "." + a checksum. It holds the key of the last item returned
and the query it belongs to (type, since, until), so that a cursor edited by hand, cut
short, or replayed against another query is refused with a 400 before it reaches DynamoDB.
The checksum detects damage and casual edits; it is not a secret signature (the handlers
have no secret), and it need not be: a cursor only chooses where a page of the same query
starts, so a forged one can reveal nothing that query could not.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from pipeline.api.params import InvalidParameterError, ListQuery, parse_event_id
from pipeline.dynamodb_numbers import number_problem

VERSION = 1
_CHECKSUM_CHARS = 16
_MAX_CURSOR_CHARS = 2048
_EXPECTED = "the next_cursor of a previous page of this same query"


def _checksum(payload: bytes) -> str:
    return hashlib.sha256(b"redline-cursor\x00" + payload).hexdigest()[:_CHECKSUM_CHARS]


def _query_fingerprint(query: ListQuery) -> list[str | None]:
    return [
        query.type,
        None if query.since is None else str(query.since),
        None if query.until is None else str(query.until),
    ]


def encode_cursor(query: ListQuery, last_key: dict[str, dict[str, str]]) -> str:
    """The cursor for the page after the item with this key (event_id, produced_at)."""
    document = {
        "v": VERSION,
        "q": _query_fingerprint(query),
        "k": [last_key["event_id"]["S"], last_key["produced_at"]["N"]],
    }
    payload = json.dumps(document, separators=(",", ":")).encode("utf-8")
    text = base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")
    return f"{text}.{_checksum(payload)}"


def decode_cursor(cursor: str, query: ListQuery) -> dict[str, dict[str, str]]:
    """The ExclusiveStartKey for `query`, or InvalidParameterError naming `cursor`."""
    if len(cursor) > _MAX_CURSOR_CHARS or cursor.count(".") != 1:
        raise InvalidParameterError("cursor", _EXPECTED, cursor)
    text, checksum = cursor.split(".")
    try:
        payload = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidParameterError("cursor", _EXPECTED, cursor) from None
    if checksum != _checksum(payload):
        raise InvalidParameterError(
            "cursor", f"{_EXPECTED} (this one was altered or cut short)", cursor
        )
    try:
        document: Any = json.loads(payload)
        version, fingerprint, (event_id, produced_at) = (
            document["v"],
            document["q"],
            document["k"],
        )
    except (ValueError, KeyError, TypeError):
        raise InvalidParameterError("cursor", _EXPECTED, cursor) from None
    if version != VERSION:
        raise InvalidParameterError("cursor", f"{_EXPECTED} (cursor version {VERSION})", cursor)
    if fingerprint != _query_fingerprint(query):
        raise InvalidParameterError(
            "cursor",
            f"{_EXPECTED}: it was issued for other type/since/until values; "
            "repeat them unchanged when following next_cursor",
            cursor,
        )
    moment = _key_time(produced_at, cursor)
    if (query.since is not None and moment < query.since) or (
        query.until is not None and moment > query.until
    ):
        raise InvalidParameterError("cursor", f"{_EXPECTED} (outside since/until)", cursor)
    try:
        event_id = parse_event_id(event_id)
    except InvalidParameterError:
        raise InvalidParameterError("cursor", _EXPECTED, cursor) from None
    return {
        "event_id": {"S": event_id},
        "type": {"S": query.type},
        "produced_at": {"N": produced_at},
    }


def _key_time(value: Any, cursor: str) -> Decimal:
    # The text goes to DynamoDB as the key's number: refuse what DynamoDB would (1e200, 1_000).
    if not isinstance(value, str) or number_problem(value) is not None:
        raise InvalidParameterError("cursor", _EXPECTED, cursor)
    try:
        moment = Decimal(value)
    except InvalidOperation:
        raise InvalidParameterError("cursor", _EXPECTED, cursor) from None
    if not moment.is_finite():
        raise InvalidParameterError("cursor", _EXPECTED, cursor)
    return moment
