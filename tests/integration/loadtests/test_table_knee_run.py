"""A table-bound capacity search through the real local stack: burst spent first, then judged.

A small provisioned table (60 WCU) behind a 1-shard stream (1,000 records/s) and a short
DynamoDB burst (the gateway's --burst-seconds 5, so the burst phase takes seconds, not
minutes). The table's credit carries the burst phase's overload for a while before the first
throttle; the search's knee comes from throttles, near the table's capacity.
"""

from __future__ import annotations

import pytest

from reports import runfolder as rf
from tests.integration.loadtests.capacity_runs import environment_file, run_capacity

WCU = 60
pytestmark = [pytest.mark.integration, pytest.mark.long]  # make test-long, make bench


@pytest.mark.timeout(900)  # the stack, a burst phase, a spend before each probe, the audit
def test_a_table_bound_search_spends_the_burst_then_finds_the_knee_from_throttles(tmp_path):
    small_table = environment_file(
        tmp_path,
        "small-table",
        stream={"shard_count": 1},
        table={
            "write_capacity": WCU,
            "read_capacity": 500,
            "type_index": {"name": "by_type", "write_capacity": WCU, "read_capacity": 500},
        },
        ingest={"reserved_concurrency": -1},
    )
    output, run_dir, summary = run_capacity(
        tmp_path, small_table, "--burst-seconds", "5", "--duration", "45", timeout_s=840
    )
    table = summary["table_knee"]
    assert table is not None, output
    assert table["table"] == "redline-events-local"

    # the burst phase: the credit carried the overload a while, then the table throttled
    burst = table["burst"]
    assert burst is not None, output
    assert burst["overload_rps"] == pytest.approx(3 * WCU)  # 1 write unit per ~300 B item
    assert burst["time_to_throttle_s"] >= 1.0
    assert burst["credit_wcu_s"] > 0
    assert set(burst["carry_s"]) == {"1.5x", "2x", "3x"}

    # the knee is what was accepted, judged by throttles: never above the table's capacity
    # (no probe rode on credit). How far below depends on how starved this machine's consumer
    # and generator are (a busy 2-core machine): the summary says which knee to distrust.
    knee = summary["knee_rps"]
    predicted = table["predicted_knee_rps"]
    assert predicted == pytest.approx(WCU, rel=0.1)
    assert knee is not None and knee == table["observed_knee_rps"], output
    assert knee <= predicted * 1.05, output
    steps = summary["steps"]
    above = [s for s in steps if s["target_rate"] > predicted * 1.05]
    assert not any(s["sustained"] for s in above), output
    assert not any("write capacity needed" in s["reasons"] for s in steps)  # no arithmetic
    verdict = table["agreement"]
    assert verdict["agree"] == (abs(knee / predicted - 1) <= 0.05)
    assert verdict["agree"] or verdict["distrust"] == "prediction"

    # the bottleneck, when a table throttle failed the first probe, names the table
    first_failed = next((s for s in steps if not s["sustained"]), None)
    if first_failed and "WriteThrottleEvents" in first_failed["reasons"]:
        assert summary["bottleneck"]["resource"].lower() == "dynamodb table writes"
        assert "AWS/DynamoDB WriteThrottleEvents" in summary["bottleneck"]["evidence"]
    # nothing was lost; the user sees it all
    assert summary["lost"] == 0
    assert "sustained knee" in output and "burst: throttled after" in output
    report = (run_dir / rf.REPORT_MD).read_text()
    assert "(observed)" in report and "prediction" in report
