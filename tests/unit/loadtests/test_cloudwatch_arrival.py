"""On AWS, CloudWatch data that stops arriving during a run stops it as broken, naming the
stream or table whose metrics stopped; a quiet start (metrics not due yet) is not a failure."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from botocore.stub import ANY, Stubber

from loadtests import cloudwatch_arrival as ca
from loadtests.health import TargetUnhealthy
from loadtests.runconfig import Endpoints

ENDPOINTS = Endpoints("us-east-1", "redline-dev-events", "redline-dev-events-table", "https://x")
NOW = 1_800_000_000.0


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def at(seconds_ago: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(NOW - seconds_ago, dt.UTC)


def answer(stream_ages: list[float], table_ages: list[float]) -> dict:
    return {
        "MetricDataResults": [
            {
                "Id": "m0",
                "Timestamps": [at(a) for a in stream_ages],
                "Values": [1.0] * len(stream_ages),
            },
            {
                "Id": "m1",
                "Timestamps": [at(a) for a in table_ages],
                "Values": [1.0] * len(table_ages),
            },
        ]
    }


def expected_call() -> dict:
    return {"MetricDataQueries": ANY, "StartTime": ANY, "EndTime": ANY}


@pytest.fixture
def cloudwatch():
    client = boto3.client(
        "cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def arrival(client, clock: Clock) -> ca.CloudWatchArrival:
    check = ca.CloudWatchArrival(client, ca.watched(ENDPOINTS), clock=clock)
    check.load_flowing(True)
    return check


def test_metrics_are_not_asked_for_before_they_are_due(cloudwatch):
    client, _ = cloudwatch  # no response queued: any call would fail the test
    clock = Clock(NOW)
    check = arrival(client, clock)
    clock.at += ca.ARRIVAL_DELAY_S - 1
    check.check()


def test_metrics_arriving_within_the_normal_delay_let_the_run_go_on(cloudwatch):
    client, stub = cloudwatch
    clock = Clock(NOW - ca.ARRIVAL_DELAY_S - 30)
    check = arrival(client, clock)
    clock.at = NOW
    stub.add_response("get_metric_data", answer([120, 180], [60, 120]), expected_call())
    check.check()
    clock.at = NOW + 10
    check.check()  # checked once a minute, not at every health check: no second call


def test_a_stream_whose_metrics_stopped_stops_the_run_naming_it(cloudwatch):
    client, stub = cloudwatch
    clock = Clock(NOW - 900)
    check = arrival(client, clock)
    clock.at = NOW
    stub.add_response("get_metric_data", answer([420, 480], [60]), expected_call())
    with pytest.raises(TargetUnhealthy) as caught:
        check.check()
    assert str(caught.value) == (
        "CloudWatch data for the stream redline-dev-events stopped arriving: AWS/Kinesis"
        " IncomingRecords (StreamName=redline-dev-events): its newest datapoint is 420 s old,"
        " while records were accepted for 900 s (normal delay at most 300 s); check its"
        " metrics in the CloudWatch console"
    )


def test_a_table_with_no_datapoint_at_all_is_named(cloudwatch):
    client, stub = cloudwatch
    clock = Clock(NOW - 400)
    check = arrival(client, clock)
    clock.at = NOW
    stub.add_response("get_metric_data", answer([60], []), expected_call())
    with pytest.raises(TargetUnhealthy, match="the table redline-dev-events-table") as caught:
        check.check()
    assert "AWS/DynamoDB ConsumedWriteCapacityUnits" in str(caught.value)
    assert "it has no datapoint in the last 600 s" in str(caught.value)


def test_no_load_no_verdict(cloudwatch):
    client, _ = cloudwatch
    clock = Clock(NOW - 900)
    check = arrival(client, clock)
    check.load_flowing(False)  # the producers stopped: metrics may rightly stop
    clock.at = NOW
    check.check()


def test_only_a_run_on_aws_watches_cloudwatch(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")  # no credential lookup over the network
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    assert ca.for_target("local", ENDPOINTS) is None
    assert isinstance(ca.for_target("aws", ENDPOINTS), ca.CloudWatchArrival)
