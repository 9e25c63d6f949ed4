"""The stack's pure parts: port resolution and the stack.json round trip."""

from __future__ import annotations

import pytest

from pipeline.local.stack import StackError, StackHandle, resolve_port


def test_ports_come_from_the_argument_then_the_variable_then_the_default(monkeypatch):
    monkeypatch.delenv("REDLINE_API_PORT", raising=False)
    assert resolve_port("api", None) == 8080
    monkeypatch.setenv("REDLINE_API_PORT", "9090")
    assert resolve_port("api", None) == 9090
    assert resolve_port("api", 7070) == 7070


@pytest.mark.parametrize("raw", ["eighty", "70000", "-1"])
def test_a_bad_port_variable_names_the_variable_and_the_range(monkeypatch, raw):
    monkeypatch.setenv("REDLINE_LAMBDA_PORT", raw)
    with pytest.raises(StackError) as caught:
        resolve_port("lambda", None)
    assert (
        str(caught.value)
        == f"REDLINE_LAMBDA_PORT must be a port number 0..65535 (0 = any free port), got {raw!r}"
    )


def test_stack_json_round_trips_with_the_shared_keys():
    handle = StackHandle(
        environment="local",
        aws_endpoint_url="http://127.0.0.1:4566",
        api_url="http://127.0.0.1:8080",
        lambda_endpoint_url="http://127.0.0.1:4567",
        pids={"gateway": 10, "runtime": 11},
        logs={"gateway": "g.log", "runtime": "r.log", "functions": "f"},
        started_at="2026-01-01T00:00:00+00:00",
        state_dir=".redline",
        already_running=True,
    )
    document = handle.to_json()
    assert {
        "environment",
        "aws_endpoint_url",
        "api_url",
        "lambda_endpoint_url",
        "pids",
        "logs",
        "started_at",
    } <= set(document)
    assert "already_running" not in document
    assert StackHandle.from_json({**document, "unknown": 1}).pids == handle.pids
