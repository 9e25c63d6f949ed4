"""Whatever a client sends, input parsing answers with a value or an InvalidParameterError
(a 400), never another exception (a 500)."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.api.cursor import _checksum, decode_cursor, encode_cursor
from pipeline.api.params import InvalidParameterError, parse_list_query, parse_time
from tests.unit.pipeline.strategies import json_values

QUERY = parse_list_query({"type": "click", "since": "1764392400"})
KEY = {"event_id": {"S": "evt-1"}, "produced_at": {"N": "1764393600.25"}}


def test_a_cursor_round_trips_to_the_start_key():
    assert decode_cursor(encode_cursor(QUERY, KEY), QUERY) == {
        "event_id": {"S": "evt-1"},
        "type": {"S": "click"},
        "produced_at": {"N": "1764393600.25"},
    }


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_as_a_cursor_is_a_400_or_a_key(text):
    try:
        decode_cursor(text, QUERY)
    except InvalidParameterError as error:
        assert error.parameter == "cursor"


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_a_well_checksummed_cursor_with_any_content_is_a_400_or_a_key(document):
    """A client that recomputes the checksum still cannot get past validation."""
    payload = json.dumps(document).encode()
    cursor = base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + _checksum(payload)
    try:
        key = decode_cursor(cursor, QUERY)
    except InvalidParameterError as error:
        assert error.parameter == "cursor"
    else:
        assert key["type"] == {"S": "click"}
        assert Decimal(key["produced_at"]["N"]) >= QUERY.since


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_time_text_is_epoch_seconds_or_a_400(text):
    try:
        value = parse_time("since", text)
    except InvalidParameterError as error:
        assert error.parameter == "since"
    else:
        assert value is not None and value >= 0


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["type", "since", "until", "limit", "cursor", "x"]), st.text(max_size=20)
    )
)
def test_any_query_is_parsed_or_a_400(query):
    try:
        parse_list_query(query)
    except InvalidParameterError as error:
        assert error.parameter in query or error.parameter == "type"
