"""Shared fixtures: a fake Lambda context and the shared event files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

EVENTS_DIR = Path(__file__).parent / "events"


@dataclass
class FakeLambdaContext:
    function_name: str = "redline-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:redline-test"
    aws_request_id: str = "5f1c0b4e-0000-4000-8000-000000000000"
    remaining_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


def load_event(name: str) -> dict:
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
