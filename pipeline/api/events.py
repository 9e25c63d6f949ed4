"""Reads behind the API: one event by id, a page of one type's events in time order."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from pipeline import aws_limits as limits
from pipeline.api.cursor import decode_cursor, encode_cursor
from pipeline.api.params import ListQuery
from pipeline.api.responses import serialize

# Query calls one page may take to fill `limit` (a Query stops at 1 MB of items).
MAX_QUERY_CALLS_PER_PAGE = 5
# A page's items may take at most this many bytes of the Lambda response, counted as they are
# sent (the body is JSON inside the response's JSON, so escapes count twice): well under
# Lambda's 6 MB, so that neither escapes nor headers push a page over it. One 400 KB item
# takes at most 7 bytes per stored byte there (a control character escaped twice): it fits.
PAGE_BUDGET_BYTES = 4 * limits.MIB

_deserializer = TypeDeserializer()


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def get_event(dynamodb: Any, table_name: str, event_id: str) -> dict[str, Any] | None:
    response = dynamodb.get_item(TableName=table_name, Key={"event_id": {"S": event_id}})
    item = response.get("Item")
    return None if item is None else plain_item(item)


def list_events(dynamodb: Any, table_name: str, index_name: str, query: ListQuery) -> Page:
    request: dict[str, Any] = {
        "TableName": table_name,
        "IndexName": index_name,
        "ScanIndexForward": True,
        **_key_condition(query),
    }
    start_key = decode_cursor(query.cursor, query) if query.cursor else None
    items: list[dict[str, Any]] = []
    for _ in range(MAX_QUERY_CALLS_PER_PAGE):
        # One more than asked, to know whether another page exists without an empty last page.
        request["Limit"] = query.limit + 1 - len(items)
        if start_key:
            request["ExclusiveStartKey"] = start_key
        response = dynamodb.query(**request)
        items.extend(response.get("Items", []))
        start_key = response.get("LastEvaluatedKey")
        if len(items) > query.limit or not start_key:
            break
    more = len(items) > query.limit or bool(start_key)
    page = items[: query.limit]
    plain = _within_budget([plain_item(item) for item in page])
    if len(plain) < len(page):
        page, more = page[: len(plain)], True
    next_cursor = None
    if more:
        last = page[-1] if page else start_key
        next_cursor = encode_cursor(query, last)
    return Page(items=plain, next_cursor=next_cursor)


def _within_budget(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The leading items whose response bytes fit PAGE_BUDGET_BYTES (at least one)."""
    used = 0
    for count, item in enumerate(items):
        used += response_bytes(item) + 1  # the comma between items
        if used > PAGE_BUDGET_BYTES and count:
            return items[:count]
    return items


def response_bytes(item: dict[str, Any]) -> int:
    """Bytes the item takes in the Lambda response: JSON text, escaped again as the body."""
    body = serialize(item)
    return len(json.dumps(body).encode("utf-8")) - 2


def _key_condition(query: ListQuery) -> dict[str, Any]:
    names = {"#type": "type"}
    values: dict[str, Any] = {":type": {"S": query.type}}
    condition = "#type = :type"
    if query.since is not None or query.until is not None:
        names["#produced_at"] = "produced_at"
    if query.since is not None and query.until is not None:
        condition += " AND #produced_at BETWEEN :since AND :until"
    elif query.since is not None:
        condition += " AND #produced_at >= :since"
    elif query.until is not None:
        condition += " AND #produced_at <= :until"
    if query.since is not None:
        values[":since"] = {"N": str(query.since)}
    if query.until is not None:
        values[":until"] = {"N": str(query.until)}
    return {
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def plain_item(item: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A wire-form item as plain JSON values (numbers as int or float, never strings)."""
    return {name: json_value(_deserializer.deserialize(value)) for name, value in item.items()}


def json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: json_value(inner) for key, inner in value.items()}
    if isinstance(value, list | set | tuple):
        return [json_value(inner) for inner in value]
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", errors="replace")
    return value
