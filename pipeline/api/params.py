"""The read API's inputs, validated at the edge: every error names the parameter, what was
expected and what was given."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import TypeAdapter, ValidationError

from pipeline.contracts import (
    EVENT_ID_MAX_CHARS,
    EVENT_TYPE_MAX_CHARS,
    NAME_CHARACTERS,
    EventId,
    EventType,
)

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
LIST_PARAMETERS = ("type", "since", "until", "limit", "cursor")
_EPOCH_SECONDS = re.compile(r"^\d{1,12}(\.\d{1,9})?$")
_MAX_ECHO_CHARS = 80
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_event_id = TypeAdapter(EventId)
_event_type = TypeAdapter(EventType)


class InvalidParameterError(ValueError):
    """A request input that cannot be used; becomes a 400 naming `parameter`."""

    def __init__(
        self, parameter: str, expected: str, got: object | None = None, problem: str = ""
    ) -> None:
        self.parameter = parameter
        self.expected = expected
        self.got = got
        given = "" if got is None else f", got {echo(got)}"
        lead = f"{problem}; " if problem else ""
        super().__init__(f"{parameter}: {lead}expected {expected}{given}")


def echo(value: object) -> str:
    """A client's value quoted back, shortened so a body never mirrors a huge input."""
    value = value if isinstance(value, str) else str(value)
    if len(value) > _MAX_ECHO_CHARS:
        value = value[:_MAX_ECHO_CHARS] + "..."
    return repr(value)


@dataclass(frozen=True, slots=True)
class ListQuery:
    type: str
    since: Decimal | None
    until: Decimal | None
    limit: int
    cursor: str | None


def parse_event_id(value: str) -> str:
    try:
        return _event_id.validate_python(value)
    except ValidationError:
        raise InvalidParameterError(
            "event_id", f"1 to {EVENT_ID_MAX_CHARS} characters from {NAME_CHARACTERS}", value
        ) from None


def parse_list_query(query: dict[str, Any] | None) -> ListQuery:
    query = query or {}
    unknown = sorted(set(query) - set(LIST_PARAMETERS))
    if unknown:
        raise InvalidParameterError(
            unknown[0], f"one of {', '.join(LIST_PARAMETERS)}", problem="unknown query parameter"
        )
    since = parse_time("since", query.get("since"))
    until = parse_time("until", query.get("until"))
    if since is not None and until is not None and until < since:
        raise InvalidParameterError(
            "until", f"a time at or after since ({since})", query.get("until")
        )
    cursor = query.get("cursor")
    if cursor is not None and not cursor:
        raise InvalidParameterError("cursor", "the next_cursor of a previous page", cursor)
    return ListQuery(
        type=parse_type(query.get("type")),
        since=since,
        until=until,
        limit=parse_limit(query.get("limit")),
        cursor=cursor,
    )


def parse_type(value: str | None) -> str:
    expected = f"an event type: 1 to {EVENT_TYPE_MAX_CHARS} characters from {NAME_CHARACTERS}"
    if value is None:
        raise InvalidParameterError("type", expected, problem="required")
    try:
        return _event_type.validate_python(value)
    except ValidationError:
        raise InvalidParameterError("type", expected, value) from None


def parse_limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    expected = f"an integer from 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"
    if not value.isdecimal() or len(value) > 6:
        raise InvalidParameterError("limit", expected, value)
    limit = int(value)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameterError("limit", expected, value)
    return limit


def parse_time(parameter: str, value: str | None) -> Decimal | None:
    """ISO-8601 (a time without offset is UTC) or epoch seconds -> epoch seconds."""
    if value is None:
        return None
    expected = "ISO-8601 (e.g. 2025-11-29T05:00:00Z) or epoch seconds (e.g. 1764392400.5)"
    text = value.strip()
    if _EPOCH_SECONDS.match(text):
        try:
            return Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            raise InvalidParameterError(parameter, expected, value) from None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        if re.fullmatch(r"\d{13,16}", text):
            expected += " (this looks like epoch milliseconds or microseconds: send seconds)"
        elif re.search(r"\d \d\d:?\d\d$", text):
            expected += " (a '+' in a URL reads as a space: send a UTC offset as %2B)"
        raise InvalidParameterError(parameter, expected, value) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    seconds = Decimal(delta.days * 86_400 + delta.seconds) + Decimal(delta.microseconds) / 10**6
    if seconds < 0:
        raise InvalidParameterError(parameter, f"{expected}, not before 1970", value)
    return seconds
