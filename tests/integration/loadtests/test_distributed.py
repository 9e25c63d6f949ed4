"""WORKERS=N: a Locust master and separate worker processes over its real port on 127.0.0.1.

The same protocol Fargate tasks use across machines: each worker offers its share of the
rate, the master merges their histograms and acknowledged ids, and a worker lost mid-run is
reported (ON_WORKER_LOSS=fail stops the run, continue moves its share to the rest).
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import time
from pathlib import Path

import pytest

from reports import runfolder as rf
from tests.integration.loadtests.test_loadtest_run import assert_stack_stopped, start_run

pytestmark = pytest.mark.integration
PROBE_PUT = "e2e.put"  # loadtests.locustfile.PROBE_PUT (importing it would start Locust)
WORKER_PIDS = re.compile(r"local worker pids ([\d ]+)")


def read_until(process, predicate, timeout_s: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if predicate(line):
            return lines
    process.kill()
    pytest.fail("the run never got there:\n" + "".join(lines))


def worker_pids(lines: list[str]) -> list[int]:
    for line in lines:
        found = WORKER_PIDS.search(line)
        if found:
            return [int(p) for p in found.group(1).split()]
    pytest.fail("the run did not name its worker processes:\n" + "".join(lines))


def timeline_rows(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / rf.TIMELINE_CSV).open() as handle:
        return list(csv.DictReader(handle))


def put_rows(rows: list[dict[str, str]], phase: str) -> list[dict[str, str]]:
    return [r for r in rows if r["phase"] == phase and r["request_type"] == rf.PUT_RECORDS]


def test_two_workers_hold_the_total_rate_merge_histograms_and_lose_nothing(tmp_path):
    # API 429s from the local Lambda concurrency limit on a busy machine are not this test's
    # subject: the error gate is relaxed, the rate, merge and audit are not.
    process = start_run(
        tmp_path,
        "--scenario",
        "smoke",
        "--duration",
        "15",
        "--workers",
        "2",
        "--gate-error-rate",
        "0.5",
    )
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output
    assert len(worker_pids(output.splitlines())) == 2
    run_dir = (tmp_path / rf.LATEST_LINK).resolve()

    steady = put_rows(timeline_rows(run_dir), "steady")
    offered = sum(int(r["offered"]) for r in steady)
    # Each worker is told half of the smoke's 50 records/s: the total is the target.
    assert offered == pytest.approx(50 * 15, rel=0.1)

    audit = json.loads((run_dir / rf.AUDIT_JSON).read_text())
    assert audit["lost"] == 0 and audit["unexpected"] == 0
    assert audit["produced"] == audit["stored"] > 0

    # Every id a worker had acknowledged reached the master's audit, and the merged timeline
    # counts the same records.
    accepted = sum(
        int(r["accepted"])
        for r in timeline_rows(run_dir)
        if r["request_type"] in (rf.PUT_RECORDS, PROBE_PUT)
    )
    assert accepted == audit["produced"]
    summary = json.loads((run_dir / rf.SUMMARY_JSON).read_text())
    assert summary["workers"]["workers_at_start"] == 2 and summary["workers"]["losses"] == []
    assert summary["measures"]["p99_ms"] > 0
    assert_stack_stopped(json.loads((run_dir / rf.RUN_JSON).read_text()))


def test_a_worker_killed_mid_run_fails_the_run_clearly_by_default(tmp_path):
    process = start_run(tmp_path, "--scenario", "soak", "--duration", "120", "--workers", "2")
    lines = read_until(process, lambda line: line.startswith("[") and "steady" in line, 200)
    os.kill(worker_pids(lines)[0], signal.SIGKILL)
    output, _ = process.communicate(timeout=200)
    output = "".join(lines) + output
    assert process.returncode == 3, output
    assert "1 Locust worker(s) lost mid-run" in output
    assert "the run stops (ON_WORKER_LOSS=fail)" in output
    run_dir = (tmp_path / rf.LATEST_LINK).resolve()
    summary = json.loads((run_dir / rf.SUMMARY_JSON).read_text())
    assert summary["passed"] is False
    assert "lost mid-run" in summary["error"]
    assert len(summary["workers"]["losses"]) == 1
    assert_stack_stopped(json.loads((run_dir / rf.RUN_JSON).read_text()))


@pytest.mark.long  # make test-long; the default (fail clearly) is in make test
def test_on_worker_loss_continue_moves_the_share_to_the_rest(tmp_path):
    process = start_run(
        tmp_path,
        "--scenario",
        "smoke",
        "--duration",
        "30",
        "--workers",
        "2",
        "--on-worker-loss",
        "continue",
        "--gate-error-rate",
        "0.5",
    )
    lines = read_until(process, lambda line: line.startswith("[") and "steady" in line, 200)
    killed_at = time.time()
    os.kill(worker_pids(lines)[1], signal.SIGKILL)
    output, _ = process.communicate(timeout=300)
    output = "".join(lines) + output
    assert "their share of the rate moves to the rest" in output, output
    assert "warning: worker(s) lost mid-run" in output
    run_dir = (tmp_path / rf.LATEST_LINK).resolve()
    summary = json.loads((run_dir / rf.SUMMARY_JSON).read_text())
    assert len(summary["workers"]["losses"]) == 1
    loss = summary["workers"]["losses"][0]
    assert loss["remaining"] == 1

    # After the loss was seen, the one worker left offers the whole 50 records/s.
    after = [
        r
        for r in put_rows(timeline_rows(run_dir), "steady")
        if int(r["timestamp"]) > loss["at"] + 2
    ]
    assert len(after) >= 5, f"killed at {killed_at}, loss seen at {loss['at']}"
    offered = sum(int(r["offered"]) for r in after[:-1])
    assert offered == pytest.approx(50 * len(after[:-1]), rel=0.15)

    # Ids the dead worker had not yet shipped may show up as unexpected; none is lost.
    audit = json.loads((run_dir / rf.AUDIT_JSON).read_text())
    assert audit["lost"] == 0
