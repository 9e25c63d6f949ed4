"""Table-bound searches: the plan, the burst phase, the spend before a probe, the verdicts."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from botocore.stub import ANY, Stubber

from loadtests import table_knee as tk
from loadtests import table_phases
from loadtests.cloudwatch import TABLE_OVERSPEND, summarize_window
from loadtests.runconfig import Endpoints


def table_row(ts, metric, value, stat="Sum", table="t"):
    return {
        "timestamp": ts,
        "period_s": 1,
        "namespace": "AWS/DynamoDB",
        "metric": metric,
        "dimensions": f"TableName={table}",
        "stat": stat,
        "value": value,
    }


def stored_row(ts, value):
    return {**table_row(ts, "RecordsStored", value), "namespace": "Redline", "dimensions": "s=i"}


# -- when the table can bind --------------------------------------------------------------


def test_only_a_provisioned_table_slower_than_the_stream_gets_a_burst_phase():
    assert tk.plan_for("t", False, 200, 1, 1000, 300) is None  # on-demand
    assert tk.plan_for("t", True, 4000, 1, 1000, 300) is None  # Kinesis binds first
    plan = tk.plan_for("t", True, 200, 1, 1000, 300)
    assert plan is not None and plan.predicted_rate == 200
    assert plan.burst_rate == 600  # 3 x 200, under the stream's rate with headroom
    assert plan.spend_rate == 400
    # a full 300 s bucket at 400/s over capacity empties in 150 s: the deadline leaves room
    assert plan.burst_deadline_s > 300 * 200 / 400
    small = tk.plan_for("t", True, 20, 1, 1000, 5)
    assert small.burst_rate == 60  # 3 x the table's rate when the stream allows more


def test_the_burst_phase_stays_under_the_stream_and_waits_for_its_backlog():
    plan = tk.plan_for("t", True, 500, 1, 1000, 300)
    assert plan.burst_rate == 900  # 3 x 500 would throttle the stream, not the table
    assert plan.spend_rate == 900
    assert tk.plan_for("t", True, 800, 1, 1000, 300) is None  # 900/s is no overload for 800
    # all 10 s of 900/s queued, drained at 500/s, plus slack; a lost figure waits longest
    assert plan.catch_up_after_burst_s({"time_to_throttle_s": 10}) == 10 * 900 / 500 + 30
    assert plan.catch_up_after_burst_s(None) == tk.MAX_CATCH_UP_S


def test_a_bucket_the_stream_cannot_empty_in_time_is_not_spent():
    """1,500 WCU behind two shards: 1,800 records/s adds only 300/s over the table, so a full
    300 s bucket would take 1,500 s to empty. The plan says so instead of running for it."""
    plan = tk.plan_for("t", True, 1500, 1, 2000, 300)
    assert plan is not None and plan.burst_rate == 1800
    assert plan.full_bucket_s == 1500
    assert plan.burst_skipped is not None
    assert "would take 1500 s (over 600 s)" in plan.burst_skipped
    assert "labelled as one" in plan.burst_skipped
    # the same table with the local gateway's 30 s of credit empties in 150 s: spent
    assert tk.plan_for("t", True, 1500, 1, 2000, 30).burst_skipped is None


def test_two_write_units_a_record_halve_the_predicted_rate():
    plan = tk.plan_for("t", True, 200, 2, 1000, 300)
    assert plan.predicted_rate == 100


# -- the burst arithmetic -----------------------------------------------------------------


def test_the_burst_credit_and_carry_times_come_from_the_observed_time_to_throttle():
    # 200 WCU, 1 unit a record, 1000 records/s written for 75 s before the first throttle
    seen = tk.BurstObservation(1000, 200, 75, 1, consumed_wcu=75_000, provisioned_wcu=200)
    assert seen.overload_ratio == 5
    assert seen.credit_wcu_s == 60_000  # 300 s of 200 WCU
    assert seen.carry_seconds(2.0) == 300
    assert seen.carry_seconds(1.5) == 600
    assert seen.carry_seconds(3.0) == 150
    assert seen.carry_seconds(1.0) is None  # at capacity the table never spends credit
    shown = seen.to_dict()
    assert shown["carry_s"] == {"1.5x": 600, "2x": 300, "3x": 150}
    assert shown["table_wcu_per_s"] == 1000  # what the table took, beside what was offered
    section = {"table": "t", "provisioned_wcu": 200, "burst": shown}
    assert "the table took 1000 WCU/s, 5.0x; observed" in "\n".join(tk.summary_lines(section))
    assert "derived" in shown["basis"]


def test_without_consumed_units_the_credit_is_the_overload_excess():
    seen = tk.BurstObservation(400, 200, 10, 1, consumed_wcu=None, provisioned_wcu=200)
    assert seen.credit_wcu_s == 2000  # (2 - 1) x 200 WCU x 10 s


# -- agreement ----------------------------------------------------------------------------


def test_observed_and_predicted_knees_within_5_percent_agree():
    verdict = tk.agreement(196, 200, burst_spent=True)
    assert verdict.agree and verdict.distrust is None and "-2.0%" in verdict.why


def test_an_observed_knee_above_the_prediction_is_distrusted_and_says_why():
    verdict = tk.agreement(260, 200, burst_spent=False)
    assert not verdict.agree and verdict.distrust == "observed"
    assert "burst credit carried the probes" in verdict.why
    assert tk.agreement(260, 200, burst_spent=True).distrust == "observed"


def test_an_observed_knee_below_the_prediction_distrusts_the_prediction():
    verdict = tk.agreement(150, 200, burst_spent=True)
    assert verdict.distrust == "prediction" and "-25.0%" in verdict.why


def test_the_summary_predicts_from_observed_units_per_stored_record():
    rows = [table_row(t, "ConsumedWriteCapacityUnits", 220) for t in range(10)]
    rows += [stored_row(t, 200) for t in range(10)]
    section = tk.summary(
        {"table_name": "t", "provisioned_wcu": 200}, 178.0, None, rows, "RecordsStored"
    )
    assert section["units_per_record"] == 1.1
    assert section["predicted_knee_rps"] == pytest.approx(181.8, abs=0.1)
    assert section["agreement"]["agree"] is True
    text = "\n".join(tk.summary_lines(section))
    assert "sustained knee 178 records/s (observed)" in text
    assert "prediction 182 records/s" in text
    assert "burst: not observed" in text
    # a burst phase that spent nothing says why, in the summary and the report
    noted = tk.summary(
        {"table_name": "t", "provisioned_wcu": 200}, 178.0, None, rows, "RecordsStored", "why"
    )
    text = "\n".join(tk.summary_lines(noted))
    assert "burst: not observed: why" in text
    # unspent credit: the knee is the prediction's own bound, never graded as agreeing with it
    assert "agree" not in text and "not compared: the knee is the prediction's bound" in text
    below = tk.summary(
        {"table_name": "t", "provisioned_wcu": 200}, 120.0, None, rows, "RecordsStored", "why"
    )
    assert below["agreement"]["distrust"] == "prediction"  # below it: graded as usual
    # a burst observed, but a probe failed on the prediction (its spend left credit)
    bound = tk.summary(
        {"table_name": "t", "provisioned_wcu": 200},
        196.0,
        {"time_to_throttle_s": 16},
        rows,
        "RecordsStored",
        prediction_bound=True,
    )
    assert "agreement" not in bound
    assert "not spent before every probe" in bound["not_compared"]


# -- judging by throttles -----------------------------------------------------------------


def test_a_table_bound_probe_is_judged_by_throttles_not_arithmetic():
    window = [table_row(t, "ConsumedWriteCapacityUnits", 110) for t in range(1000, 1005)]
    window += [stored_row(t, 100) for t in range(1000, 1005)]
    window += [
        table_row(t, "ProvisionedWriteCapacityUnits", 200, "Average") for t in range(1000, 1005)
    ]
    assert f"{TABLE_OVERSPEND} (provisioned 200)" in summarize_window(window, 234)[0]
    assert summarize_window(window, 234, predict=False) == ({}, None)
    window.append(table_row(1003, "WriteThrottleEvents", 4))
    assert summarize_window(window, 234, predict=False)[0] == {
        "AWS/DynamoDB WriteThrottleEvents": 4
    }


def test_the_table_is_quiet_after_whole_periods_without_a_throttle():
    assert tk.throttle_seconds(
        [table_row(5, "WriteThrottleEvents", 0), table_row(6, "ThrottledRequests", 2)]
    ) == [6]
    assert not tk.quiet_since([], now=101.5, started=100.2, period_s=1)  # too soon
    assert tk.quiet_since([100], now=103.5, started=100.2, period_s=1)
    assert not tk.quiet_since([102], now=103.5, started=100.2, period_s=1)


# -- the phases, on a fake clock ----------------------------------------------------------


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def phases_with(table_throttles_from: float, clock: FakeClock, plan=None, quiet_after=None):
    """A table that throttles from `table_throttles_from` (epoch s) until `quiet_after`."""
    plan = plan or tk.plan_for("t", True, 200, 1, 1000, 300)
    phases_set: list[tuple[str, float]] = []

    def read_rows(start, end):
        rows = [
            table_row(s, "ConsumedWriteCapacityUnits", 900) for s in range(int(start), int(end))
        ]
        last = quiet_after if quiet_after is not None else end
        rows += [
            table_row(s, "WriteThrottleEvents", 3)
            for s in range(int(start), int(end))
            if table_throttles_from <= s < last
        ]
        return rows

    phases = table_phases.TablePhases(
        plan,
        read_rows,
        lambda name, rate, reads, probes: phases_set.append((name, rate)),
        clock.sleep,
        1.0,
        1,
    )
    return phases, phases_set


def test_the_burst_phase_overloads_until_the_table_throttles_then_stops(monkeypatch):
    clock = FakeClock(1000.0)
    monkeypatch.setattr(table_phases.time, "time", clock.time)
    phases, set_ = phases_with(1080, clock)
    seen = phases.burst_phase()
    assert set_ == [("burst", 600), ("recover", 0.0)]  # stopped the moment it throttled
    assert clock.now < 1083  # polled every second: no long overload past the throttle
    assert seen["time_to_throttle_s"] == 80.5  # within the second that throttled
    assert seen["overload_rps"] == 600
    # 900 units a second for 81 s, less 200 WCU refilled: the credit spent
    assert seen["credit_wcu_s"] == 900 * 81 - 200 * 80.5


def test_a_table_that_never_throttles_gives_no_burst_figure(monkeypatch):
    clock = FakeClock(1000.0)
    monkeypatch.setattr(table_phases.time, "time", clock.time)
    plan = tk.plan_for("t", True, 200, 1, 1000, 5)
    phases, set_ = phases_with(10**9, clock, plan)
    assert phases.burst_phase() is None
    assert set_[-1] == ("recover", 0.0)


def test_each_probe_spends_the_refilled_credit_then_is_judged_once_the_table_is_quiet(
    monkeypatch,
):
    clock = FakeClock(2000.0)
    monkeypatch.setattr(table_phases.time, "time", clock.time)
    # the spend overload throttles 3 s in; the consumer then catches up by 2010
    phases, set_ = phases_with(2003, clock, quiet_after=2010)
    rate_from, judged_from, spent = phases.spend_then_settle("probe-180", 180, 0.0)
    assert spent  # the table throttled: its bucket is empty
    assert rate_from <= 2004  # the probe's rate began as soon as the spend throttled
    assert set_ == [("spend", 400), ("probe-180", 180)]  # no idle gap to refill the bucket
    assert judged_from >= 2012  # two whole quiet seconds after the last throttle


def test_a_spend_that_sees_no_throttle_says_the_probe_may_ride_on_credit(monkeypatch):
    """A weak overload (the stream adds little over the table) cannot empty a bucket a probe
    below capacity refilled: the spend ends at its deadline and says so."""
    clock = FakeClock(2000.0)
    monkeypatch.setattr(table_phases.time, "time", clock.time)
    phases, set_ = phases_with(10**9, clock)  # never throttles
    rate_from, _, spent = phases.spend_then_settle("probe-190", 190, 0.0)
    assert not spent
    assert rate_from - 2000 >= table_phases.SPEND_DEADLINE_S  # spent its whole deadline
    assert set_ == [("spend", 400), ("probe-190", 190)]


def test_a_probe_above_capacity_is_judged_at_the_catch_up_deadline(monkeypatch):
    clock = FakeClock(2000.0)
    monkeypatch.setattr(table_phases.time, "time", clock.time)
    phases, _ = phases_with(2001, clock)  # throttles and never stops
    started = clock.now
    _, judged_from, _ = phases.spend_then_settle("probe-260", 260, 0.0)
    assert judged_from - started <= 1 + phases.plan.catch_up_s + 2


def test_on_aws_the_burst_phase_reads_one_minute_cloudwatch_data(monkeypatch):
    """TARGET=aws: 1-minute WriteThrottleEvents, polled every 20 s (botocore Stubber)."""
    clock = FakeClock(1_800_000_000.0)  # a minute boundary
    monkeypatch.setattr(table_phases.time, "time", clock.time)
    cw = boto3.client(
        "cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    monkeypatch.setattr(table_phases.cloudwatch, "client", lambda endpoints: cw)
    minute = dt.datetime.fromtimestamp(1_800_000_000 + 120, tz=dt.UTC)
    stub = Stubber(cw)

    def answer(throttles):
        results = [
            {"Id": "q0", "Timestamps": [minute] if throttles else [], "Values": throttles},
            {"Id": "q1", "Timestamps": [], "Values": []},
            {"Id": "q2", "Timestamps": [minute], "Values": [54_000.0]},
        ]
        stub.add_response(
            "get_metric_data",
            {"MetricDataResults": results},
            {"MetricDataQueries": ANY, "StartTime": ANY, "EndTime": ANY, "ScanBy": ANY},
        )

    for _ in range(8):  # two minutes of polls see nothing yet
        answer([])
    answer([12.0])
    endpoints = Endpoints(region="us-east-1", stream_name="s", table_name="t", api_url="")
    plan = tk.plan_for("t", True, 200, 1, 1000, 300, period_s=60)

    class Controller:
        config = type(
            "C",
            (),
            {
                "table_plan": plan.to_dict(),
                "cloudwatch_in_loop": False,
                "endpoints": endpoints,
                "scenario": type("S", (), {"probe_rate": 1.0}),
            },
        )

        def set_phase(self, *args):
            pass

        def _sleep(self, seconds):
            clock.sleep(seconds)

    with stub:
        phases = table_phases.TablePhases.of(Controller())
        assert phases.period_s == 60 and phases.poll_s == 20
        assert not phases.per_probe  # 1-minute data cannot judge a 5 s probe
        seen = phases.burst_phase()
    assert seen["resolution_s"] == 60
    assert seen["time_to_throttle_s"] == 150  # the minute that throttled, to its middle
    assert seen["credit_wcu_s"] == 54_000 - 200 * 150


def test_throttles_of_a_backlog_draining_below_capacity_do_not_fail_the_probe():
    throttles = {"AWS/DynamoDB WriteThrottleEvents": 40.0, "AWS/Lambda Throttles": 1.0}
    # 10 s in which the table took 600 units at 1 unit a record: 60/s, above a 55/s probe
    kept = tk.excuse_draining(throttles, 600, 10, 55, 1)
    assert kept == {"AWS/Lambda Throttles": 1.0}  # the table drained; Lambda's still count
    # a probe at 70/s got only the table's 60/s: the throttles stand
    assert tk.excuse_draining(throttles, 600, 10, 70, 1) == throttles


def test_a_kinesis_bound_capacity_search_gets_no_table_phases():
    """The default local file (1,500 WCU behind 1 shard) searches as before; a small table
    gets a plan with the gateway's burst; a non-capacity scenario never does."""
    from types import SimpleNamespace

    from loadtests import cli
    from loadtests.scenarios import SCENARIOS
    from pipeline.config import load_environment

    environment = load_environment("local")
    capacity = SCENARIOS["capacity"]
    args = SimpleNamespace(burst_seconds=None)
    assert cli.table_plan(environment, capacity, "t", args, True) is None
    small = environment.model_copy(
        update={
            "table": environment.table.model_copy(
                update={
                    "write_capacity": 200,
                    "type_index": environment.table.type_index.model_copy(
                        update={"write_capacity": 200}
                    ),
                }
            )
        }
    )
    plan = cli.table_plan(small, capacity, "t", SimpleNamespace(burst_seconds=5), True)
    assert plan is not None and plan["predicted_rate"] == 200
    assert plan["burst_deadline_s"] < 60  # 5 s of credit, not AWS's 300
    assert cli.table_plan(small, SCENARIOS["smoke"], "t", args, True) is None


def test_a_consumer_falling_behind_stops_the_burst_before_the_backlog_grows(monkeypatch, capsys):
    """A starved consumer passes less than the overload on: the table never throttles and the
    stream's backlog grows instead. The burst stops once the consumer is BURST_MAX_LAG_S
    behind, and says the consumer limits the run."""
    clock = FakeClock(1000.0)
    monkeypatch.setattr(table_phases.time, "time", clock.time)
    plan = tk.plan_for("t", True, 200, 1, 1000, 300)
    set_: list[tuple[str, float]] = []

    def read_rows(start, end):
        lag_ms = max(end - 1010, 0) * 2000  # 2 s more behind every second after 10 s
        return [{**table_row(int(end) - 1, "IteratorAge", lag_ms, "Maximum"), "dimensions": "F"}]

    phases = table_phases.TablePhases(
        plan, read_rows, lambda n, r, reads, probes: set_.append((n, r)), clock.sleep, 1.0, 1
    )
    assert phases.burst_phase() is None
    assert set_ == [("burst", 600), ("recover", 0.0)]
    assert clock.now <= 1010 + tk.BURST_MAX_LAG_S / 2 + 2  # stopped once that far behind
    out = capsys.readouterr().out
    assert f"the consumer fell {tk.BURST_MAX_LAG_S + 2:.0f} s behind" in out
    assert phases.consumer_bound is not None and "not the table" in phases.consumer_bound
