"""The forwarder as the local stack runs it: invoked through the runtime's Lambda Invoke API
with the environment the runtime gives it, writing the payloads file (no key set)."""

import json

import boto3
import pytest
from botocore.config import Config

from pipeline.local.stack import start_stack, stop_stack

pytestmark = pytest.mark.integration


def test_the_runtime_invokes_the_forwarder_and_the_payloads_file_names_the_stacks_resources(
    tmp_path, monkeypatch
):
    for name in (
        "NEW_RELIC_LICENSE_KEY",
        "NEW_RELIC_LICENSE_KEY_SECRET",
        "NEW_RELIC_METRIC_API_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    stack = start_stack(
        env="local", aws_port=0, api_port=0, lambda_port=0, state_dir=tmp_path, timeout_s=180
    )
    try:
        lambda_client = boto3.client(
            "lambda",
            endpoint_url=stack.lambda_endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(read_timeout=120, retries={"total_max_attempts": 1}),
        )
        reply = lambda_client.invoke(FunctionName="redline-forwarder-local", Payload=b"{}")
        summary = json.loads(reply["Payload"].read())
    finally:
        stop_stack(stack)
    assert "FunctionError" not in reply, summary
    assert summary["minutes_delivered"] == summary["minutes_planned"] == 5
    lines = (tmp_path / "newrelic-payloads.jsonl").read_text().splitlines()
    assert len(lines) == summary["posts"] == 1
    body = json.loads(lines[0])
    assert len(body) == 5
    attributes = {
        (key, value)
        for element in body
        for point in element["metrics"]
        for key, value in point["attributes"].items()
    }
    # An idle stack publishes few datapoints, and a minute without one sends no point (absent,
    # not 0): every resource a point names must be one of the stack's.
    resources = {(k, v) for k, v in attributes if k in ("stream", "table", "function", "queue")}
    assert resources <= {
        ("stream", "redline-events-local"),
        ("table", "redline-events-local"),
        ("function", "redline-ingest-local"),
        ("function", "redline-api-local"),
        ("function", "redline-forwarder-local"),
        ("queue", "redline-dlq-local"),
    }
    assert {element["common"]["attributes"]["environment"] for element in body} == {"local"}
