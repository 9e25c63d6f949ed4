"""`python -m loadtests run` end to end against a private local stack (free ports, own state)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reports import runfolder as rf

REPO_ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.integration


def start_run(
    results: Path, *args: str, env: dict[str, str] | None = None, sigint_ignored: bool = False
) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "loadtests", "run", "--results", str(results), *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, **(env or {})},
        # as a shell starts a background job (`make loadtest &` in a script)
        preexec_fn=ignore_sigint if sigint_ignored else None,
    )


def ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def assert_stack_stopped(run_json: dict) -> None:
    pids = [int(p) for p in run_json["stack_pids"].values()]
    assert pids, "the run names the stack processes it started"
    deadline = time.monotonic() + 30
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not [p for p in pids if alive(p)]


def test_smoke_run_writes_the_run_folder_and_loses_nothing(tmp_path):
    step_summary = tmp_path / "github-step-summary.md"
    process = start_run(
        tmp_path,
        "--scenario",
        "smoke",
        "--duration",
        "12",
        env={"GITHUB_STEP_SUMMARY": str(step_summary)},
    )
    output, _ = process.communicate(timeout=280)
    assert process.returncode == 0, output
    run_dir = (tmp_path / rf.LATEST_LINK).resolve()
    assert f"report: {run_dir / rf.REPORT_MD}" in output
    for name in (rf.RUN_JSON, rf.TIMELINE_CSV, rf.CLOUDWATCH_CSV, rf.AUDIT_JSON, rf.SUMMARY_JSON):
        assert (run_dir / name).is_file(), name
    for suffix in ("_stats.csv", "_stats_history.csv", ".html", ".json"):
        assert (run_dir / f"{rf.LOCUST_PREFIX}{suffix}").is_file(), suffix

    audit = json.loads((run_dir / rf.AUDIT_JSON).read_text())
    assert audit["lost"] == 0
    assert audit["produced"] > 0 and audit["stored"] == audit["produced"]

    summary = json.loads((run_dir / rf.SUMMARY_JSON).read_text())
    assert summary["passed"] is True and summary["lost"] == 0
    junit = (run_dir / "junit.xml").read_text()
    for gate in summary["gates"]:
        assert f'name="{gate["name"]}"' in junit
    assert 'failures="0"' in junit
    assert "## Redline load test `smoke`: PASS" in step_summary.read_text()
    assert {g["name"] for g in summary["gates"]} >= {"lost", "error_rate", "achieved_rate"}

    with (run_dir / rf.TIMELINE_CSV).open() as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == rf.TIMELINE_COLUMNS
    types = {r["request_type"] for r in rows}
    assert {rf.PUT_RECORDS, rf.E2E_PROBE} <= types
    assert types & set(rf.API_REQUEST_TYPES)
    steady = [r for r in rows if r["phase"] == "steady" and r["request_type"] == rf.PUT_RECORDS]
    offered = sum(int(r["offered"]) for r in steady)
    assert offered == pytest.approx(50 * 12, rel=0.1)  # the smoke rate, held open-loop
    # "starting": a call that completed before the shape's first phase began
    assert {r["phase"] for r in rows} <= {"starting", "warmup", "steady", "drain"}

    with (run_dir / rf.CLOUDWATCH_CSV).open() as handle:
        metrics = {r["metric"] for r in csv.DictReader(handle)}
    assert "IncomingRecords" in metrics

    run_json = json.loads((run_dir / rf.RUN_JSON).read_text())
    assert run_json["limits_emulated"] is True and run_json["target"] == "local"
    assert_stack_stopped(run_json)


def test_ctrl_c_stops_the_stack_and_keeps_the_run_folder(tmp_path):
    # GIVEN a run started the way a script starts a background job: SIGINT ignored, inherited
    process = start_run(tmp_path, "--scenario", "soak", "--duration", "300", sigint_ignored=True)
    lines = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if line.startswith("[") and "steady" in line:  # the load is running
            break
    else:  # tests/integration/conftest.py stops what a failed test left running
        pytest.fail("the run never reported progress:\n" + "".join(lines))
    # WHEN the user interrupts it
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=180)
    # THEN it stops Locust and the stack, and keeps what was measured
    assert process.returncode == 130, "".join(lines) + output
    assert "stopping the local stack this run started" in output
    run_dir = (tmp_path / rf.LATEST_LINK).resolve()
    summary = json.loads((run_dir / rf.SUMMARY_JSON).read_text())
    assert summary["interrupted"] is True and summary["passed"] is False
    assert (run_dir / rf.TIMELINE_CSV).is_file()
    assert_stack_stopped(json.loads((run_dir / rf.RUN_JSON).read_text()))
