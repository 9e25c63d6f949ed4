"""Streams and tables pass through CREATING / UPDATING / DELETING when the stack is told to
take AWS-like time, and boto3's waiters see them through; ACTIVE at once by default."""

from __future__ import annotations

import json

import pytest

from pipeline.local.aws import GatewayError
from tests.integration.local.conftest import client_for

pytestmark = pytest.mark.integration

FAST_WAITER = {"Delay": 1, "MaxAttempts": 30}


def test_with_durations_streams_and_tables_go_through_aws_states(gateway_factory, monkeypatch):
    monkeypatch.setenv("REDLINE_AWS_STATE_DURATIONS", "2")
    gateway = gateway_factory()
    config = json.loads(gateway.control("GET", "config")[1])
    assert config["state_durations_s"]["kinesis"] == {"create": 2.0, "delete": 2.0, "update": 2.0}
    kinesis, dynamodb = client_for(gateway, "kinesis"), client_for(gateway, "dynamodb")

    kinesis.create_stream(StreamName="slow", ShardCount=1)
    status = kinesis.describe_stream_summary(StreamName="slow")["StreamDescriptionSummary"]
    assert status["StreamStatus"] == "CREATING"
    kinesis.get_waiter("stream_exists").wait(StreamName="slow", WaiterConfig=FAST_WAITER)
    assert kinesis.describe_stream(StreamName="slow")["StreamDescription"]["StreamStatus"] == (
        "ACTIVE"
    )
    kinesis.delete_stream(StreamName="slow")
    assert kinesis.describe_stream(StreamName="slow")["StreamDescription"]["StreamStatus"] == (
        "DELETING"
    )
    kinesis.get_waiter("stream_not_exists").wait(StreamName="slow", WaiterConfig=FAST_WAITER)

    dynamodb.create_table(
        TableName="slow",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    assert dynamodb.describe_table(TableName="slow")["Table"]["TableStatus"] == "CREATING"
    dynamodb.get_waiter("table_exists").wait(TableName="slow", WaiterConfig=FAST_WAITER)
    dynamodb.update_table(
        TableName="slow", ProvisionedThroughput={"ReadCapacityUnits": 6, "WriteCapacityUnits": 6}
    )
    assert dynamodb.describe_table(TableName="slow")["Table"]["TableStatus"] == "UPDATING"
    dynamodb.get_waiter("table_exists").wait(TableName="slow", WaiterConfig=FAST_WAITER)
    dynamodb.delete_table(TableName="slow")
    dynamodb.get_waiter("table_not_exists").wait(TableName="slow", WaiterConfig=FAST_WAITER)


def test_by_default_a_new_stream_and_table_are_active_at_once(aws):
    kinesis, dynamodb = aws("kinesis"), aws("dynamodb")
    kinesis.create_stream(StreamName="instant-states", ShardCount=1)
    dynamodb.create_table(
        TableName="instant-states",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # At most one 1-s poll: a waiter never waits for the engines' transitions by default.
    at_once = {"Delay": 1, "MaxAttempts": 2}
    kinesis.get_waiter("stream_exists").wait(StreamName="instant-states", WaiterConfig=at_once)
    dynamodb.get_waiter("table_exists").wait(TableName="instant-states", WaiterConfig=at_once)


def test_a_bad_duration_setting_is_a_one_line_error_naming_the_choices(
    gateway_factory, monkeypatch
):
    monkeypatch.setenv("REDLINE_AWS_STATE_DURATIONS", "slow")
    with pytest.raises(GatewayError) as caught:
        gateway_factory()
    assert "REDLINE_AWS_STATE_DURATIONS='slow'" in str(caught.value)
    assert "expected instant, aws, or a number of seconds" in str(caught.value)
