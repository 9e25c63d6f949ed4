"""`make up` / `make down` through the CLI and the Python API: real processes, free ports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest

from pipeline.local.stack import REPO_ROOT, StackError, start_stack
from tests.integration.runtime.conftest import environment, event, wait_until

pytestmark = pytest.mark.integration


def _processes_in_group(pgid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(entry.name))
    return found


def _cli(*args: str, state_dir: Path, env: dict[str, str] | None = None, timeout=180):
    return subprocess.run(
        [sys.executable, "-m", "pipeline.local", "--state-dir", str(state_dir), *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_up_put_a_record_read_it_through_the_api_then_down_leaves_no_process(tmp_path):
    config = environment(tmp_path)
    env_file = tmp_path / f"{config.environment}.tfvars.json"
    state = tmp_path / "state"
    ports = {"REDLINE_AWS_PORT": "0", "REDLINE_API_PORT": "0", "REDLINE_LAMBDA_PORT": "0"}
    up = _cli(
        "up",
        "--env",
        str(env_file),
        state_dir=state,
        env=ports,
    )
    assert up.returncode == 0, up.stderr + up.stdout
    assert f"local stack up (environment {config.environment})" in up.stdout
    stack = json.loads((state / "stack.json").read_text())
    try:
        assert set(stack) >= {
            "environment",
            "aws_endpoint_url",
            "api_url",
            "lambda_endpoint_url",
            "pids",
            "logs",
            "started_at",
        }
        assert stack["aws_endpoint_url"] in up.stdout and stack["api_url"] in up.stdout
        again = _cli("up", "--env", str(env_file), state_dir=state, env=ports)
        assert again.returncode == 0 and "already up" in again.stdout

        def client(service):
            return boto3.client(
                service,
                endpoint_url=stack["aws_endpoint_url"],
                region_name="us-east-1",
                aws_access_key_id="test",
                aws_secret_access_key="test",
            )

        kinesis, dynamodb, sqs = client("kinesis"), client("dynamodb"), client("sqs")
        summary = kinesis.describe_stream_summary(StreamName=config.stream.name)
        assert summary["StreamDescriptionSummary"]["OpenShardCount"] == config.stream.shard_count
        table = dynamodb.describe_table(TableName=config.table.name)["Table"]
        assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "by_type"
        assert table["ProvisionedThroughput"]["WriteCapacityUnits"] == config.table.write_capacity
        queue_urls = sqs.list_queues()["QueueUrls"]
        assert any(u.endswith(config.queues.dead_letter_name) for u in queue_urls)
        assert any(u.endswith(config.queues.on_failure_name) for u in queue_urls)

        record = event(f"up-{uuid.uuid4().hex}")
        kinesis.put_record(
            StreamName=config.stream.name,
            PartitionKey=record["event_id"],
            Data=json.dumps(record).encode(),
        )

        def read_back():
            try:
                url = f"{stack['api_url']}/events/{record['event_id']}"
                with urllib.request.urlopen(url, timeout=5) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError:
                return None

        stored = wait_until(read_back, 20, "the record through GET /events/<id>")
        assert stored["event_id"] == record["event_id"]

        status = _cli("status", state_dir=state)
        assert status.returncode == 0 and "gateway" in status.stdout and "runtime" in status.stdout
        # The control token: in stack.json, readable by the user only, never printed.
        assert (state / "stack.json").stat().st_mode & 0o777 == 0o600
        assert len(stack["token"]) >= 32
        as_json = _cli("status", "--json", state_dir=state)
        assert "invocations" in as_json.stdout  # the runtime's own status (token-protected)
        for output in (up.stdout, status.stdout, as_json.stdout):
            assert stack["token"] not in output
    finally:
        down = _cli("down", state_dir=state)
    assert down.returncode == 0, down.stderr
    assert "local stack down" in down.stdout
    for pid in stack["pids"].values():
        assert _processes_in_group(pid) == [], f"processes of group {pid} survived make down"
    assert not (state / "stack.json").exists()
    assert "not running" in _cli("down", state_dir=state).stdout


def test_a_port_in_use_is_one_clear_line_and_nothing_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StackError) as caught:
            start_stack(
                env=environment_file(tmp_path),
                aws_port=0,
                api_port=port,
                lambda_port=0,
                state_dir=tmp_path / "state",
            )
    message = str(caught.value)
    assert message.startswith(f"port in use on 127.0.0.1: api port {port} (REDLINE_API_PORT)")
    assert "\n" not in message
    assert not (tmp_path / "state" / "stack.json").exists()


def _start_error(tmp_path: Path, **options) -> str:
    with pytest.raises(StackError) as caught:
        start_stack(
            env=environment_file(tmp_path),
            aws_port=0,
            api_port=0,
            lambda_port=0,
            state_dir=tmp_path / "state",
            **options,
        )
    assert not (tmp_path / "state" / "stack.json").exists()
    return str(caught.value)


def test_a_part_that_crashes_at_start_is_reported_with_its_log(tmp_path):
    message = _start_error(
        tmp_path, handlers={"api": "tests.integration.runtime.no_such_module.handler"}
    )
    assert "the HTTP API answers GET /health with 500" in message
    assert "redline-api-" in message and ".log" in message
    assert "No module named 'tests.integration.runtime.no_such_module'" in message


def test_a_gateway_that_exits_at_start_is_reported_with_its_log(tmp_path):
    message = _start_error(tmp_path, gateway_args=["--no-such-option"])
    assert message.startswith("the AWS endpoint (gateway) exited during start")
    assert "gateway.log" in message


def environment_file(tmp_path: Path) -> Path:
    config = environment(tmp_path)
    return tmp_path / f"{config.environment}.tfvars.json"
