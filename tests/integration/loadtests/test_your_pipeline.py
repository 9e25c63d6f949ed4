"""Your pipeline, not Redline's: a handler, a record generator and a table keyed differently,
all written here, found by `python -m loadtests run` (what `make loadtest` runs) on a
private local stack. The run finds a knee, audits through the table description and reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reports import runfolder as rf

REPO_ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.integration

# Orders, not Redline events: {"order": {...}} on the stream, items keyed "pk" = "ORDER#<id>".
ORDER_RECORDS = """
import json


def records(request):
    out = []
    for n in range(request.first, request.first + request.count):
        order_id = f"{request.id_prefix}.{n}"
        body = {"order": {"id": order_id, "cents": n % 9000, "placed": request.now}}
        out.append((f"customer-{n % 50}", json.dumps(body).encode(), order_id))
    return out
"""
ORDER_HANDLER = """
import base64, json, os, time
import boto3
from botocore.config import Config

TABLE = os.environ["TABLE_NAME"]
dynamodb = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 10}))


def handler(event, context):
    items = []
    for record in event["Records"]:
        order = json.loads(base64.b64decode(record["kinesis"]["data"]))["order"]
        items.append({"PutRequest": {"Item": {
            "pk": {"S": "ORDER#" + order["id"]}, "cents": {"N": str(order["cents"])}}}})
    for start in range(0, len(items), 25):
        pending = {TABLE: items[start:start + 25]}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems")
            if pending:
                time.sleep(0.2)
    return {"batchItemFailures": []}
"""


def run_your_pipeline(tmp_path: Path, *scenario_args: str) -> tuple[str, Path]:
    (tmp_path / "order_records.py").write_text(ORDER_RECORDS, encoding="utf-8")
    (tmp_path / "order_handler.py").write_text(ORDER_HANDLER, encoding="utf-8")
    environment = json.loads(
        (REPO_ROOT / "terraform" / "environments" / "local.tfvars.json").read_text()
    )
    environment["table"]["write_capacity"] = 150  # the redline the capacity search should find
    environment["audit"] = {"enabled": True, "key_attribute": "pk", "key_format": "ORDER#{id}"}
    env_file = tmp_path / "orders.tfvars.json"
    env_file.write_text(json.dumps(environment), encoding="utf-8")
    results = tmp_path / "results"
    argv = [
        *("--env", str(env_file), *scenario_args),
        *("--handler", "ingest=order_handler.handler", "--records", "order_records:records"),
    ]
    completed = subprocess.run(
        [sys.executable, "-m", "loadtests", "run", "--results", str(results), *argv],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    return completed.stdout + completed.stderr, (results / rf.LATEST_LINK).resolve()


def assert_orders_audited_and_reported(output: str, run_dir: Path) -> None:
    assert (run_dir / rf.SUMMARY_JSON).is_file(), output
    audit = json.loads((run_dir / rf.AUDIT_JSON).read_text())
    run_json = json.loads((run_dir / rf.RUN_JSON).read_text())
    # The audit read the orders through "pk" = "ORDER#<id>": every acknowledged order stored.
    assert audit["produced"] > 0 and audit["lost"] == 0, audit
    assert audit["stored"] + audit["dead_lettered"] == audit["produced"]
    assert run_json["options"]["records"] == "order_records:records"
    assert run_json["options"]["handlers"] == {"ingest": "order_handler.handler"}
    report = (run_dir / rf.REPORT_MD).read_text()
    assert "Lost:** 0" in report, report[:2000]


def test_your_handler_records_and_table_run_audit_and_report(tmp_path):
    output, run_dir = run_your_pipeline(
        tmp_path, "--scenario", "smoke", "--duration", "12", "--probe-rate", "0"
    )
    assert_orders_audited_and_reported(output, run_dir)
    assert json.loads((run_dir / rf.SUMMARY_JSON).read_text())["passed"] is True, output


@pytest.mark.long  # a whole capacity search: make test-long, make bench
def test_your_handler_records_and_table_get_a_knee_an_audit_and_a_report(tmp_path):
    output, run_dir = run_your_pipeline(
        tmp_path,
        *("--scenario", "capacity", "--duration", "45"),
        *("--rate", "600", "--probe-rate", "0", "--burst-seconds", "1"),
    )
    assert_orders_audited_and_reported(output, run_dir)
    summary = json.loads((run_dir / rf.SUMMARY_JSON).read_text())
    # The knee: a rate the search held, below what it was allowed to offer.
    assert summary["knee_rps"] and 0 < summary["knee_rps"] < 600, output
