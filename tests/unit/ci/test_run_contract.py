"""make api-contract's runner: local targets only, seed events that honour the contract."""

from __future__ import annotations

import json

import pytest

from pipeline.contracts import Event
from tests.api import run_contract


class _FakeKinesis:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def put_records(self, **kwargs):
        self.calls.append(kwargs)
        return {"FailedRecordCount": 0, "Records": [{} for _ in kwargs["Records"]]}


def test_a_non_local_api_is_refused():
    with pytest.raises(SystemExit) as excinfo:
        run_contract._local_only("https://abc.execute-api.us-east-1.amazonaws.com")
    assert str(excinfo.value) == (
        "error: contract tests run against the local stack only, "
        "got https://abc.execute-api.us-east-1.amazonaws.com"
    )


def test_seeded_events_are_valid_events_of_one_fresh_type_one_second_apart(monkeypatch):
    fake = _FakeKinesis()
    monkeypatch.setattr(run_contract.boto3, "client", lambda *a, **k: fake)
    variables = run_contract.seed_events("http://127.0.0.1:4566", "redline-events-local")
    (call,) = fake.calls
    assert call["StreamName"] == "redline-events-local"
    events = [Event.model_validate(json.loads(r["Data"])) for r in call["Records"]]
    assert [e.event_id for e in events] == variables["seededIds"].split(",")
    assert {e.type for e in events} == {variables["eventType"]}
    assert events[1].produced_at - events[0].produced_at == pytest.approx(1.0)
    assert str(events[1].produced_at) == variables["secondProducedAt"]
    assert variables["missingId"] not in variables["seededIds"]
