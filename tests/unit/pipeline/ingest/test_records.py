"""Whatever bytes a producer puts on the stream, classification stores or rejects them; it
never raises (a raise would leave the record to be redelivered forever)."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import (
    KinesisStreamRecord,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.records import Accepted, Rejected, classify_record
from tests.events.builders import event_body, kinesis_record
from tests.unit.pipeline.strategies import json_values


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_are_accepted_or_rejected(data):
    outcome = classify_record(KinesisStreamRecord(kinesis_record(1, data)))

    assert isinstance(outcome, Accepted | Rejected)
    if isinstance(outcome, Rejected):
        assert outcome.detail


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_payload_is_stored_or_rejected_as_not_storable(payload):
    body = json.dumps(event_body(1, payload={"value": payload}))
    outcome = classify_record(KinesisStreamRecord(kinesis_record(1, body.encode())))

    if isinstance(outcome, Rejected):
        assert outcome.reason == "not_storable"
        assert outcome.detail.startswith("payload.value")
    else:
        assert outcome.item["payload"]["M"].keys() == {"value"}
