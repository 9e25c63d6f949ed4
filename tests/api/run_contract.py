"""`make api-contract`: run the Postman collection with newman against a local stack.

Starts the local stack on free 127.0.0.1 ports (or uses API_URL + AWS_ENDPOINT_URL of a
stack you started), puts three events of a fresh type on the stream through the real
Kinesis API, waits until the read API serves them, runs newman, and stops what it started.
The exit code is newman's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3

from pipeline.config import load_environment

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
COLLECTION = HERE / "redline.postman_collection.json"
NEWMAN = HERE / "node_modules" / ".bin" / "newman"
SEED_TIMEOUT_S = 90.0
NEWMAN_TIMEOUT_S = 300


def _local_only(url: str) -> str:
    if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise SystemExit(f"error: contract tests run against the local stack only, got {url}")
    return url.rstrip("/")


def seed_events(aws_url: str, stream: str) -> dict[str, str]:
    """Put three events of a new type, 1 s apart in produced_at; return the collection's vars."""
    kinesis = boto3.client(
        "kinesis",
        endpoint_url=aws_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    run = uuid.uuid4().hex[:12]
    event_type = f"contract-{run}"
    start = round(time.time(), 3) - 60
    events = [
        {
            "event_id": f"contract-{run}-{i}",
            "type": event_type,
            "source": "api-contract",
            "produced_at": start + i,
            "payload": {"n": i},
        }
        for i in range(3)
    ]
    response = kinesis.put_records(
        StreamName=stream,
        Records=[{"Data": json.dumps(e).encode(), "PartitionKey": e["event_id"]} for e in events],
    )
    if response["FailedRecordCount"]:
        raise SystemExit(f"error: the stream refused seed records: {response['Records']}")
    return {
        "eventId": events[0]["event_id"],
        "eventType": event_type,
        "firstProducedAt": str(events[0]["produced_at"]),
        "secondProducedAt": str(events[1]["produced_at"]),
        "missingId": f"contract-{run}-missing",
        "seededIds": ",".join(e["event_id"] for e in events),
    }


def wait_until_served(api_url: str, event_ids: list[str]) -> None:
    deadline = time.monotonic() + SEED_TIMEOUT_S
    pending = list(event_ids)
    while pending and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{api_url}/events/{pending[0]}", timeout=5):
                pending.pop(0)
                continue
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise SystemExit(f"error: GET /events/{pending[0]} answered {exc.code}") from None
        except urllib.error.URLError:
            pass
        time.sleep(0.5)
    if pending:
        raise SystemExit(
            f"error: the API did not serve {pending} within {SEED_TIMEOUT_S:.0f} s of putting "
            "them on the stream (is the ingest function running? see `make logs`)"
        )


def run_newman(api_url: str, variables: dict[str, str], report_dir: Path) -> int:
    if not NEWMAN.exists():
        raise SystemExit(f"error: {NEWMAN} is missing; run `make api-contract` (it runs npm ci)")
    command = [
        str(NEWMAN), "run", str(COLLECTION),
        "--env-var", f"baseUrl={api_url}",
        *[arg for key, value in variables.items() for arg in ("--env-var", f"{key}={value}")],
        "--timeout-request", "10000",
        "--color", "off",
        "--reporters", "cli,junit",
        "--reporter-junit-export", str(report_dir / "newman-junit.xml"),
    ]  # fmt: skip
    return subprocess.run(command, check=False, timeout=NEWMAN_TIMEOUT_S).returncode


def main() -> int:
    stream = load_environment("local").stream.name
    report_dir = REPO_ROOT / ".redline" / "api-contract"
    report_dir.mkdir(parents=True, exist_ok=True)
    given_api, given_aws = os.environ.get("API_URL"), os.environ.get("AWS_ENDPOINT_URL")
    if given_api and given_aws:
        return _run(_local_only(given_api), _local_only(given_aws), stream, report_dir)

    from pipeline.local.stack import StackError, start_stack, stop_stack

    state_dir = Path(tempfile.mkdtemp(prefix="api-contract-", dir=report_dir))
    try:
        try:
            handle = start_stack(
                env="local", aws_port=0, api_port=0, lambda_port=0, state_dir=state_dir
            )
        except StackError as exc:
            print(f"error: the local stack did not start: {exc}", file=sys.stderr)
            return 2
        print(f"==> local stack up: API {handle.api_url}, AWS {handle.aws_endpoint_url}")
        return _run(handle.api_url, handle.aws_endpoint_url, stream, report_dir)
    finally:
        stop_stack(state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)


def _run(api_url: str, aws_url: str, stream: str, report_dir: Path) -> int:
    variables = seed_events(aws_url, stream)
    wait_until_served(api_url, variables["seededIds"].split(","))
    print(f"==> newman against {api_url} (events of type {variables['eventType']})")
    return run_newman(api_url, variables, report_dir)


if __name__ == "__main__":
    sys.exit(main())
