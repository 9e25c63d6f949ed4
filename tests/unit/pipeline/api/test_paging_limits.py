"""Pages stay under Lambda's 6 MB response limit by bytes, not only by count, and the cursor
continues where a page stopped; a forged cursor number is a 400, never a 500."""

from __future__ import annotations

import json

import pytest

from pipeline import aws_limits as limits
from pipeline.api.cursor import encode_cursor
from pipeline.api.events import PAGE_BUDGET_BYTES
from pipeline.api.params import parse_list_query
from tests.events.builders import http_event
from tests.unit.pipeline.api.test_handler import assert_invalid, list_events, seed
from tests.unit.pipeline.aws import fresh_import


@pytest.fixture
def api(aws):
    return fresh_import("pipeline.api.handler")


# A quote is 1 stored byte and 4 bytes of the Lambda response (\" in the body, escaped again).
QUOTES_PER_ITEM = 300_000


def test_items_with_escaped_characters_page_by_bytes_and_the_cursor_walks_them_all(
    aws, api, lambda_context
):
    seed(aws, range(6), type="big", payload={"text": '"' * QUOTES_PER_ITEM})
    seen: list[str] = []
    sizes: list[int] = []
    query = {"type": "big", "limit": "50"}
    for _ in range(6):
        response = api.lambda_handler(http_event("GET", "/events", query), lambda_context)
        sizes.append(len(json.dumps(response).encode()))
        assert response["statusCode"] == 200
        page = json.loads(response["body"])
        seen += [item["event_id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        query = {**query, "cursor": page["next_cursor"]}

    assert seen == [f"evt-{i:06d}" for i in range(6)]
    assert len(sizes) > 1  # one page of six would be over 7 MB
    assert max(sizes) < PAGE_BUDGET_BYTES + 64 * 1024 < limits.LAMBDA_MAX_PAYLOAD_BYTES


@pytest.mark.parametrize("produced_at", ["1e200", "1_000", " 5", "1e-200", "NaN", "9" * 39])
def test_a_cursor_with_a_number_dynamodb_refuses_is_a_400_naming_it(
    api, lambda_context, produced_at
):
    query = parse_list_query({"type": "click"})
    forged = encode_cursor(query, {"event_id": {"S": "evt-1"}, "produced_at": {"N": produced_at}})

    status, body, _ = list_events(api, lambda_context, type="click", cursor=forged)

    assert_invalid(status, body, "cursor", "next_cursor of a previous page")
