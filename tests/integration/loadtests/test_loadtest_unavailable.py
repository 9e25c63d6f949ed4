"""The gateway answers 503 for 10 s during a run (REDLINE_FAULT_UNAVAILABLE_S): the 503s are
never counted as throttles, and the run stops as broken (exit 3) naming the gateway and its
log, with its folder kept and the stack stopped."""

from __future__ import annotations

import csv
import json

import pytest

from pipeline.local.aws.faults import UNAVAILABLE_AFTER_VARIABLE, UNAVAILABLE_VARIABLE
from reports import runfolder as rf
from tests.integration.loadtests.test_loadtest_run import assert_stack_stopped, start_run

pytestmark = pytest.mark.integration


def test_a_gateway_answering_503_for_10_s_is_a_broken_run_not_a_throttle(tmp_path):
    process = start_run(
        tmp_path,
        "--scenario",
        "smoke",
        "--duration",
        "60",
        # the outage starts after warm-up (30 s at most), inside the steady phase
        env={UNAVAILABLE_VARIABLE: "10", UNAVAILABLE_AFTER_VARIABLE: "35"},
    )
    output, _ = process.communicate(timeout=300)
    print(output)  # shown when an assertion fails

    assert process.returncode == 3, output
    run_dir = (tmp_path / rf.LATEST_LINK).resolve()
    gateway_log = run_dir / rf.LOGS_DIR / "gateway.log"
    unhealthy = [line for line in output.splitlines() if "the target is unhealthy: " in line]
    assert unhealthy, output
    assert f"the gateway (its log: {gateway_log})" in unhealthy[0]
    assert "PutRecords records failed with errors other than throttling" in unhealthy[0]
    assert "the target is broken, not saturated" in unhealthy[0]
    assert gateway_log.is_file()  # the run folder is kept, the log the line names in it

    summary = json.loads((run_dir / rf.SUMMARY_JSON).read_text())
    assert summary["broken"] is True and summary["passed"] is False
    assert "the gateway" in summary["error"]
    with (run_dir / rf.TIMELINE_CSV).open() as handle:
        puts = [r for r in csv.DictReader(handle) if r["request_type"] == rf.PUT_RECORDS]
    assert sum(int(r["throttled"]) for r in puts) == 0  # 503s are not throttles
    assert sum(int(r["errors"]) for r in puts) > 0  # the calls during the outage failed
    assert sum(int(r["accepted"]) for r in puts) > 0  # and the ones before it went through
    assert_stack_stopped(json.loads((run_dir / rf.RUN_JSON).read_text()))
