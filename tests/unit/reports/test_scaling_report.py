"""The report's scaling section on a synthetic table-bound run: throttled minutes from the
folder's own metrics, activities marked, the what-if replay, and the recommended file."""

import csv
import json

from pipeline.autoscaling import TargetTracking, replay
from pipeline.config import parse_environment
from reports import runfolder as rf
from reports import scaling
from reports.cli import main
from reports.reader import read_run

MINUTE_S = 10


def _enable_autoscaling(run, activities=()):
    info = json.loads((run / rf.RUN_JSON).read_text())
    info["environment"]["table"]["autoscaling"].update(
        {"enabled": True, "target_utilization": 70, "max_write_capacity": 3000}
    )
    info["options"]["scaling_minute_s"] = MINUTE_S
    info["options"]["burst_seconds"] = 1  # the synthetic table starts with no burst balance
    (run / rf.RUN_JSON).write_text(json.dumps(info))
    (run / scaling.SCALING_JSON).write_text(json.dumps({"ScalingActivities": list(activities)}))
    return info


def _throttled_seconds(run) -> list[float]:
    """Independently of the report: the seconds holding a throttled write."""
    with (run / rf.CLOUDWATCH_CSV).open(newline="") as handle:
        return sorted(
            float(row["timestamp"])
            for row in csv.DictReader(handle)
            if row["metric"] == "WriteThrottleEvents" and float(row["value"]) > 0
        )


def test_scaling_section_counts_throttled_minutes_and_marks_activities(table_run):
    with (table_run / rf.CLOUDWATCH_CSV).open(newline="") as handle:
        first_second = min(float(r["timestamp"]) for r in csv.DictReader(handle))
    throttled = _throttled_seconds(table_run)
    scale_out = throttled[0] + 5
    _enable_autoscaling(
        table_run,
        [
            {
                "StartTime": scale_out,
                "EndTime": scale_out + 1,
                "Description": "Setting write capacity units to 286.",
                "StatusCode": "Successful",
                # as AWS writes it: no Details, the alarm named in the cause
                "Cause": "monitor alarm TargetTracking-table/t-AlarmHigh-1 in state ALARM "
                "triggered policy p",
            }
        ],
    )
    analysis = scaling.analyse(read_run(table_run))
    assert analysis is not None
    windows = {int((t - first_second) // MINUTE_S) for t in throttled}
    assert analysis.throttled_minutes == len(windows) > 0
    assert analysis.first_throttle_at == throttled[0]
    assert analysis.overload_to_first_scale_out_s == 5
    assert analysis.overload_to_unthrottled_s == throttled[-1] + 1 - throttled[0]
    marked = [m for m in analysis.minutes if m.activities]
    assert [m.activities for m in marked] == [["Setting write capacity units to 286. (Successful)"]]
    assert analysis.what_if
    assert {w.target_utilization for w in analysis.what_if} == {50, 70, 90}
    # more minimum capacity never throttles more at one target
    for target in (50, 70, 90):
        rows = sorted(
            (w for w in analysis.what_if if w.target_utilization == target),
            key=lambda w: w.min_capacity,
        )
        throttled = [w.throttled_minutes for w in rows]
        assert throttled == sorted(throttled, reverse=True)


def test_report_and_recommended_file_carry_the_autoscaling_recommendation(table_run):
    _enable_autoscaling(table_run)
    assert main(["build", str(table_run)]) == 0
    report = (table_run / rf.REPORT_MD).read_text()
    assert "## Scaling: what the spike cost while capacity caught up" in report
    assert "What if (a prediction" in report
    summary = json.loads((table_run / rf.SUMMARY_JSON).read_text())["scaling"]
    recommended = json.loads((table_run / rf.RECOMMENDED_TFVARS).read_text())
    config = parse_environment(recommended)
    assert config.table.autoscaling.enabled
    assert config.table.autoscaling.target_utilization == 70
    assert summary["recommended_min_write_capacity"] is not None
    assert config.table.write_capacity == summary["recommended_min_write_capacity"]
    assert config.table.autoscaling.max_write_capacity >= config.table.write_capacity
    # the recommended minimum absorbs the run's spike when replayed; one unit less does not
    analysis = scaling.analyse(read_run(table_run))
    demand = [m.demand_per_s for m in analysis.minutes]
    burst = analysis.burst_seconds / analysis.minute_s * 60
    best = summary["recommended_min_write_capacity"]
    assert scaling.recommended_minimum(demand, 3000, 70, burst) == best
    assert (
        replay(TargetTracking(70, best, 3000), demand, best, burst_seconds=burst).throttled_minutes
        == 0
    )
    if best > 1:
        worse = replay(TargetTracking(70, best - 1, 3000), demand, best - 1, burst_seconds=burst)
        assert worse.throttled_minutes > 0


def test_on_demand_or_fixed_tables_get_no_scaling_changes(table_run):
    assert main(["build", str(table_run)]) == 0  # autoscaling off in the run's file
    recommended = json.loads((table_run / rf.RECOMMENDED_TFVARS).read_text())
    assert recommended["table"]["autoscaling"]["enabled"] is False


def test_a_resharded_run_reports_each_update_shard_count_and_the_order_check(capacity_run):
    # GIVEN a run that doubled then halved its shards and checked per-key order
    (capacity_run / scaling.SCALING_JSON).write_text(
        json.dumps(
            {
                "reshards": [
                    {"target": 2, "current": 1, "requested_at": 1796177941.6, "seconds": 0.21},
                    {"target": 1, "current": 2, "requested_at": 1796178004.7, "seconds": 0.24},
                ],
                "order": {"keys": 100, "items": 144777, "violations": 0, "samples": []},
            }
        )
    )
    # WHEN the report is built
    assert main(["build", str(capacity_run)]) == 0
    report = (capacity_run / rf.REPORT_MD).read_text()
    summary = json.loads((capacity_run / rf.SUMMARY_JSON).read_text())
    # THEN each call is listed with the time it took, and the order check's result
    assert "## Resharding: UpdateShardCount under load" in report
    assert "| 1 -> 2 | 0.21 |" in report and "| 2 -> 1 | 0.24 |" in report
    assert "per-key order: **0 violations** over 144,777 stored records of 100" in report
    assert [r["to"] for r in summary["resharding"]["reshards"]] == [2, 1]
    # and a run with no autoscaling and no table throttles gets no table-scaling section
    assert "## Scaling: what the spike cost" not in report


def test_a_run_that_did_not_reshard_has_no_resharding_section(capacity_run):
    assert main(["build", str(capacity_run)]) == 0
    assert "Resharding" not in (capacity_run / rf.REPORT_MD).read_text()
