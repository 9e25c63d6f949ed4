import boto3
import pytest
from moto import mock_aws

from monitors.forwarder.checkpoint import (
    Checkpoint,
    parse_checkpoint,
    plan_minutes,
    read_checkpoint,
    write_checkpoint,
)

NOW = 1_790_000_000 + 35  # 35 s into a minute
LAST_END = 1_790_000_000 // 60 * 60  # end of the last complete minute


def test_terraforms_initial_value_is_a_first_run():
    assert parse_checkpoint("0") is None
    assert parse_checkpoint("") is None


def test_round_trip_and_bad_values():
    checkpoint = Checkpoint(next_minute=LAST_END, points_sent=7)
    assert parse_checkpoint(checkpoint.to_json()) == checkpoint
    assert "next_minute_utc" in checkpoint.to_json()
    with pytest.raises(ValueError, match="is not"):
        parse_checkpoint("yesterday")
    with pytest.raises(ValueError, match="does not start a minute"):
        parse_checkpoint('{"next_minute": 61}')


def test_first_run_takes_the_last_few_complete_minutes():
    plan = plan_minutes(None, NOW, settle_seconds=0, first_run_minutes=5, max_minutes=30)
    assert plan.minutes == [LAST_END - 300 + 60 * i for i in range(5)]
    assert plan.skip_points == 0 and plan.backlog_minutes == 0


def test_settle_time_holds_back_the_newest_minute():
    plan = plan_minutes(None, NOW, settle_seconds=60, first_run_minutes=5, max_minutes=30)
    assert plan.minutes[-1] == LAST_END - 120


def test_a_long_gap_is_caught_up_in_bounded_steps():
    checkpoint = Checkpoint(LAST_END - 120 * 60, points_sent=3)
    plan = plan_minutes(checkpoint, NOW, settle_seconds=0, first_run_minutes=5, max_minutes=30)
    assert len(plan.minutes) == 30 and plan.minutes[0] == checkpoint.next_minute
    assert plan.skip_points == 3
    assert plan.backlog_minutes == 90


def test_minutes_older_than_new_relic_accepts_are_skipped_and_counted():
    checkpoint = Checkpoint(LAST_END - 72 * 3600)
    plan = plan_minutes(checkpoint, NOW, settle_seconds=0, first_run_minutes=5, max_minutes=30)
    assert plan.skipped_minutes > 24 * 60
    assert plan.minutes[0] >= NOW - 48 * 3600


def test_nothing_new_is_an_empty_plan():
    plan = plan_minutes(Checkpoint(LAST_END), NOW, 0, 5, 30)
    assert plan.minutes == [] and plan.skip_points == 0


@mock_aws
def test_ssm_round_trip_and_a_missing_or_garbled_parameter(forwarder_logs):
    ssm = boto3.client("ssm", region_name="us-east-1")
    name = "/redline/test/forwarder/checkpoint"
    assert read_checkpoint(ssm, name) is None
    write_checkpoint(ssm, name, Checkpoint(LAST_END, 2))
    assert read_checkpoint(ssm, name) == Checkpoint(LAST_END, 2)
    ssm.put_parameter(Name=name, Value="garbage", Type="String", Overwrite=True)
    assert read_checkpoint(ssm, name) is None
    assert "starting as a first run" in forwarder_logs()
