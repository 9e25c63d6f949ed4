"""Shared pieces of the forwarder's unit tests."""

from __future__ import annotations

import pytest
from aws_lambda_powertools import Logger

from monitors.forwarder.settings import load_settings

BASE_ENV = {
    "ENVIRONMENT": "test",
    "STREAM_NAME": "redline-events-test",
    "TABLE_NAME": "redline-events-test",
    "API_ID": "api0001",
    "DLQ_URL": "http://127.0.0.1:4566/000000000000/redline-dlq-test",
    "NEW_RELIC_PAYLOADS_FILE": "payloads.jsonl",
    "FORWARDER_SETTLE_SECONDS": "0",
}


@pytest.fixture
def settings_for():
    def make(**overrides):
        return load_settings({**BASE_ENV, **overrides})

    return make


@pytest.fixture
def forwarder_logs(capsys, caplog):
    """Everything the forwarder logged (its module loggers are children of the service's)."""
    Logger()  # the parent the children log through

    def read() -> str:
        return capsys.readouterr().out + caplog.text

    return read
