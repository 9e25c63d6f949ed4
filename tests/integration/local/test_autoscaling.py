"""Application Auto Scaling on the gateway: target tracking moves a table's capacity from what
the gateway itself counted (time-scaled: one alarm minute = 1 s, new capacity 1 s later)."""

from __future__ import annotations

import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

from pipeline.config import load_environment, parse_environment, to_tfvars
from pipeline.local.runtime.app import make_clients
from pipeline.local.runtime.provision import provision
from pipeline.local.scaling_status import scaling_lines
from tests.integration.local.conftest import client_for
from tests.integration.local.test_dynamodb_limits import create_table

pytestmark = pytest.mark.integration

DEADLINE_S = 60
MINUTE_S = 1.0
DELAY_S = 1.5


@pytest.fixture
def scaled_gateway(gateway_factory, monkeypatch):
    monkeypatch.setenv("REDLINE_SCALING_MINUTE_S", str(MINUTE_S))
    monkeypatch.setenv("REDLINE_SCALING_APPLY_DELAY_S", str(DELAY_S))
    return gateway_factory(burst_seconds=1.0)


def register(autoscaling, table: str, low: int = 5, high: int = 100, target: float = 70.0):
    key = {
        "ServiceNamespace": "dynamodb",
        "ResourceId": f"table/{table}",
        "ScalableDimension": "dynamodb:table:WriteCapacityUnits",
    }
    autoscaling.register_scalable_target(**key, MinCapacity=low, MaxCapacity=high)
    autoscaling.put_scaling_policy(
        **key,
        PolicyName="writes",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": target,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "DynamoDBWriteCapacityUtilization"
            },
        },
    )
    return key


def test_sustained_overload_scales_the_table_out_through_updating(scaled_gateway):
    dynamodb = client_for(scaled_gateway, "dynamodb")
    autoscaling = client_for(scaled_gateway, "application-autoscaling")
    name = create_table(dynamodb, wcu=5)
    key = register(autoscaling, name)
    # WHEN writes keep coming faster than 5 WCU (throttles counted on the client side)
    stop = threading.Event()
    throttled = [0]

    def write() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                dynamodb.put_item(TableName=name, Item={"event_id": {"S": f"e{n}"}})
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
                throttled[0] += 1
                time.sleep(0.02)

    writer = threading.Thread(target=write)
    writer.start()
    statuses, activities = set(), []
    try:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            statuses.add(dynamodb.describe_table(TableName=name)["Table"]["TableStatus"])
            activities = autoscaling.describe_scaling_activities(**key)["ScalingActivities"]
            if any(a["StatusCode"] == "Successful" for a in activities):
                break
            time.sleep(0.1)
    finally:
        stop.set()
        writer.join(10)
    # THEN the client saw throttles, an activity raised the capacity after UPDATING, and
    # DescribeTable shows the new capacity
    assert throttled[0] > 0
    done = [a for a in activities if a["StatusCode"] == "Successful"]
    assert done, activities
    first = done[-1]  # newest first: the last is the earliest
    assert first["Description"].startswith("Setting write capacity units to ")
    new = int(first["Description"].rsplit(" ", 1)[1].rstrip("."))
    assert new > 5
    assert "above target 70%" in first["Cause"]
    assert "UPDATING" in statuses
    table = dynamodb.describe_table(TableName=name)["Table"]
    assert table["ProvisionedThroughput"]["WriteCapacityUnits"] >= new
    assert (first["EndTime"] - first["StartTime"]).total_seconds() >= DELAY_S - 0.1


def test_min_above_max_and_target_out_of_range_are_refused(scaled_gateway):
    autoscaling = client_for(scaled_gateway, "application-autoscaling")
    with pytest.raises(ClientError) as excinfo:
        autoscaling.register_scalable_target(
            ServiceNamespace="dynamodb",
            ResourceId="table/missing",
            ScalableDimension="dynamodb:table:WriteCapacityUnits",
            MinCapacity=1,
            MaxCapacity=5,
        )
    assert excinfo.value.response["Error"]["Message"] == "DynamoDB table missing does not exist"
    table = create_table(client_for(scaled_gateway, "dynamodb"), wcu=5)
    key = {
        "ServiceNamespace": "dynamodb",
        "ResourceId": f"table/{table}",
        "ScalableDimension": "dynamodb:table:WriteCapacityUnits",
    }
    with pytest.raises(ClientError) as excinfo:
        autoscaling.register_scalable_target(**key, MinCapacity=10, MaxCapacity=5)
    assert excinfo.value.response["Error"]["Code"] == "ValidationException"
    assert excinfo.value.response["Error"]["Message"] == (
        "Minimum capacity (10) cannot be greater than maximum capacity (5)"
    )
    autoscaling.register_scalable_target(**key, MinCapacity=5, MaxCapacity=10)
    with pytest.raises(ClientError) as excinfo:
        autoscaling.put_scaling_policy(
            **key,
            PolicyName="p",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 95.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "DynamoDBWriteCapacityUtilization"
                },
            },
        )
    assert excinfo.value.response["Error"]["Code"] == "ValidationException"
    assert "between 20 and 90" in excinfo.value.response["Error"]["Message"]


def test_provisioning_registers_the_environment_files_targets_and_status_shows_them(
    scaled_gateway, tmp_path
):
    data = to_tfvars(load_environment("local"))
    data["table"]["autoscaling"]["enabled"] = True
    config = parse_environment(data)
    clients = make_clients(scaled_gateway.endpoint_url)
    provision(clients, config)
    targets = clients.autoscaling.describe_scalable_targets(ServiceNamespace="dynamodb")
    found = {
        (t["ResourceId"], t["ScalableDimension"], t["MinCapacity"], t["MaxCapacity"])
        for t in targets["ScalableTargets"]
    }
    table, index = config.table.name, config.table.type_index.name
    assert found == {
        (f"table/{table}", "dynamodb:table:ReadCapacityUnits", 500, 1000),
        (f"table/{table}", "dynamodb:table:WriteCapacityUnits", 1500, 3000),
        (f"table/{table}/index/{index}", "dynamodb:index:ReadCapacityUnits", 500, 1000),
        (f"table/{table}/index/{index}", "dynamodb:index:WriteCapacityUnits", 1500, 3000),
    }
    policies = clients.autoscaling.describe_scaling_policies(ServiceNamespace="dynamodb")
    assert {
        p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]
        for p in policies["ScalingPolicies"]
    } == {70.0}
    status, body = scaled_gateway.control("GET", "scaling")
    assert status == 200
    lines = scaling_lines(json.loads(body))
    assert lines[0].startswith("auto scaling: 4 targets, one policy minute = 1 s")


def test_a_run_records_the_gateway_scaling_knobs_through_its_token_guarded_route(
    gateway_factory, monkeypatch
):
    # GIVEN a time-scaled gateway with a 50 s burst, and the stack's token in the environment
    # (as `make loadtest` sets it for its own processes)
    from loadtests.runconfig import Endpoints
    from loadtests.scaling_run import _gateway_scaling
    from pipeline.local.guard import TOKEN_ENV

    monkeypatch.setenv("REDLINE_SCALING_MINUTE_S", "10")
    monkeypatch.setenv("REDLINE_SCALING_APPLY_DELAY_S", "10")
    gateway = gateway_factory(burst_seconds=50.0)
    monkeypatch.setenv(TOKEN_ENV, gateway.token)
    endpoints = Endpoints("us-east-1", "s", "t", "http://127.0.0.1:1", gateway.endpoint_url)
    # WHEN the run reads the knobs for scaling.json THEN the report gets the scaled minute
    assert _gateway_scaling(endpoints) == {
        "minute_s": 10.0,
        "apply_delay_s": 10.0,
        "burst_seconds": 50.0,
    }
