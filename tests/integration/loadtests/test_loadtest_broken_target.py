"""A part of the target dies during a run: the run stops as broken (exit 3), names the part and
its log, keeps its folder and stops the stack; the failed calls are never counted as
throttles (a dead engine must not read as saturation)."""

from __future__ import annotations

import csv
import json
import os
import signal
import time
from pathlib import Path

import pytest

from reports import runfolder as rf
from tests.integration.loadtests.test_loadtest_run import assert_stack_stopped, start_run

pytestmark = pytest.mark.integration


def child_pids(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children]


def command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def wait_for_load(process, lines: list[str], phase: str) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if line.startswith("[") and phase in line and "accepted" in line:
            return
    process.kill()
    pytest.fail("the run never reported load:\n" + "".join(lines))


def test_an_engine_killed_mid_run_stops_the_run_as_broken_naming_it(tmp_path):
    process = start_run(tmp_path, "--scenario", "smoke", "--duration", "60")
    lines: list[str] = []
    wait_for_load(process, lines, "steady")
    run_dir = (tmp_path / rf.LATEST_LINK).resolve()
    run_json = json.loads((run_dir / rf.RUN_JSON).read_text())
    gateway = int(run_json["stack_pids"]["gateway"])
    (kinesalite,) = [p for p in child_pids(gateway) if "kinesalite" in command_line(p)]
    killed_at = time.monotonic()
    os.kill(kinesalite, signal.SIGKILL)
    while time.monotonic() - killed_at < 60:  # the health check runs every 2 s
        line = process.stdout.readline()
        lines.append(line)
        if "the target is unhealthy" in line or not line:
            break
    noticed_after = time.monotonic() - killed_at

    output, _ = process.communicate(timeout=240)
    output = "".join(lines) + output
    print(output)  # shown when an assertion fails
    assert process.returncode == 3, output
    assert noticed_after < 30, output  # within a step, long before the 60 s phase ends
    # The gateway either answers that its engine is down, or has shut down naming it.
    assert "the target is unhealthy: " in output
    engine_log = run_dir / rf.LOGS_DIR / "aws" / "kinesalite.log"
    named = "kinesalite (behind the gateway) is down" in output or "engine kinesis exited" in output
    assert named, output
    assert str(engine_log) in output  # its log, as the run folder keeps it
    assert engine_log.is_file()

    summary = json.loads((run_dir / rf.SUMMARY_JSON).read_text())
    assert summary["broken"] is True and summary["passed"] is False
    assert "kinesalite" in summary["error"] or "kinesis" in summary["error"]
    with (run_dir / rf.TIMELINE_CSV).open() as handle:
        puts = [r for r in csv.DictReader(handle) if r["request_type"] == rf.PUT_RECORDS]
    assert sum(int(r["throttled"]) for r in puts) == 0  # 503s are not throttles
    assert sum(int(r["errors"]) for r in puts) > 0  # the calls after the kill failed
    assert_stack_stopped(run_json)
