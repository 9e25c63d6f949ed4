"""`make loadtest UI=1`: the master audits each start itself and `/redline/audit` answers it,
through the real local stack: a bounded start ends and is audited in the UI, a second start
from the UI gets its own audit, and quitting (Ctrl+C) still writes the summary and report."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from reports import runfolder as rf
from tests.integration.loadtests.test_loadtest_run import assert_stack_stopped, start_run
from tests.integration.loadtests.test_web_ui import _read_until_url, quit_web_ui

pytestmark = [pytest.mark.integration, pytest.mark.long]  # make test-long, make bench


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _wait_for_audit(url: str, start: int, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    seen: list[str] = []
    while time.monotonic() < deadline:
        current = _get_json(f"{url}/redline/audit")["current"]
        if current and current["start"] == start:
            seen.append(current["state"])
            if current["state"] in ("done", "failed"):
                return current | {"states_seen": seen}
        time.sleep(0.5)
    raise AssertionError(f"start {start} was not audited in {timeout_s:.0f} s (saw {seen})")


def _wait_until_stopped(url: str, timeout_s: float) -> None:
    """The test stops once its audit is done (the shape's next tick)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _get_json(f"{url}/stats/requests")["state"] == "stopped":
            return
        time.sleep(0.5)
    raise AssertionError(f"the test did not stop within {timeout_s:.0f} s of its audit")


@pytest.mark.timeout(900)  # a stack, the UI, audits and the report on a busy 2-core machine
def test_each_start_in_the_web_ui_is_audited_and_quitting_writes_the_report(tmp_path):
    process = start_run(tmp_path, "--scenario", "smoke", "--duration", "12", "--ui")
    lines: list[str] = []
    try:
        url, lines = _read_until_url(process, time.monotonic() + 240)
        first = _wait_for_audit(url, 1, 300)  # the bounded plan ends by itself
        assert first["state"] == "done", first
        assert first["result"]["produced"] > 0 and first["result"]["lost"] == 0, first
        assert first["result"]["stored"] == first["result"]["produced"]
        assert first["result"]["unexpected"] == 0
        assert first["verdict"].startswith("nothing lost"), first
        run_dir = Path(first["run_folder"])
        assert run_dir == (tmp_path / rf.LATEST_LINK).resolve()
        assert json.loads((run_dir / rf.AUDIT_JSON).read_text()) == first["result"]
        assert json.loads(Path(first["audit_file"]).read_text())["start"] == 1

        _wait_until_stopped(url, 120)  # as a user, who gets "New" once the test has stopped
        form = urllib.parse.urlencode({"user_count": "1", "spawn_rate": "1"}).encode()
        started = urllib.request.urlopen(f"{url}/swarm", data=form, timeout=30)
        assert json.loads(started.read())["success"] is True
        second = _wait_for_audit(url, 2, 300)
        assert second["state"] == "done", second
        assert second["result"]["produced"] > 0 and second["result"]["lost"] == 0, second
        # start 1's stored ids are not start 2's "unexpected": each start is audited alone
        assert second["result"]["unexpected"] == 0, second
        assert [s["start"] for s in _get_json(f"{url}/redline/audit")["starts"]] == [1, 2]
        assert json.loads((run_dir / rf.AUDIT_JSON).read_text()) == second["result"]
        assert (run_dir / "audit-start-1.json").is_file()
        assert (run_dir / "audit-start-2.json").is_file()

        os.killpg(process.pid, signal.SIGINT)  # Ctrl+C where `make loadtest` runs
        output, _ = process.communicate(timeout=420)
    finally:
        quit_web_ui(process)
    output = "".join(lines) + output
    assert "audited in the web UI" in output, output
    summary = json.loads((run_dir / rf.SUMMARY_JSON).read_text())
    assert summary["interrupted"] is False, output  # the last start's plan ran to its end
    assert summary["lost"] == 0 and process.returncode != 130, output
    assert (run_dir / rf.REPORT_MD).is_file()
    assert_stack_stopped(json.loads((run_dir / rf.RUN_JSON).read_text()))
