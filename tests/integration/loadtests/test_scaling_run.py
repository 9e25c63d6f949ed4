"""The reshard scenario's parts against the real gateway: UpdateShardCount at planned moments
timed on the client side, and the per-partition-key order audit of stored items."""

from __future__ import annotations

import pytest

from loadtests.runconfig import Endpoints
from loadtests.scaling_run import Resharder, order_audit
from pipeline.local.aws import start_gateway
from tests.integration.local.conftest import client_for, unique
from tests.integration.local.test_dynamodb_limits import create_table
from tests.integration.local.test_kinesis_limits import create_stream

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    with start_gateway(port=0, state_dir=tmp_path_factory.mktemp("gateway")) as handle:
        yield handle


def endpoints(gateway, stream: str = "s", table: str = "t") -> Endpoints:
    return Endpoints(
        region="us-east-1",
        stream_name=stream,
        table_name=table,
        api_url="http://127.0.0.1:1",
        aws_endpoint_url=gateway.endpoint_url,
    )


def test_resharder_doubles_then_halves_and_times_each_call(gateway, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    kinesis = client_for(gateway, "kinesis")
    name = create_stream(kinesis, shards=2)
    resharder = Resharder(endpoints(gateway, stream=name), ((0.0, 2.0), (0.5, 0.5)), 2.0)
    resharder.start()
    resharder.wait(60)
    calls = resharder.to_dict()
    assert [(c["current"], c["target"]) for c in calls] == [(2, 4), (4, 2)]
    assert all(c["error"] is None and c["seconds"] is not None and c["seconds"] >= 0 for c in calls)
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 2


def put(dynamodb, table, event_id, key, stored_at, arrived_at):
    dynamodb.put_item(
        TableName=table,
        Item={
            "event_id": {"S": event_id},
            "stored_at": {"N": str(stored_at)},
            "arrived_at": {"N": str(arrived_at)},
            "payload": {"M": {"key": {"S": key}, "pad": {"S": ""}}},
        },
    )


def test_order_audit_finds_a_record_stored_after_one_that_arrived_later(gateway, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    dynamodb = client_for(gateway, "dynamodb")
    table = create_table(dynamodb, wcu=1000, rcu=1000)
    run = unique("run")
    # key a: in order (one batch shares a stored_at); key b: the child's record stored first
    put(dynamodb, table, f"{run}.1", "a", 10.0, 1.0)
    put(dynamodb, table, f"{run}.2", "a", 10.0, 2.0)
    put(dynamodb, table, f"{run}.3", "a", 11.0, 3.0)
    put(dynamodb, table, f"{run}.4", "b", 10.0, 5.0)
    put(dynamodb, table, f"{run}.5", "b", 11.0, 4.0)
    put(dynamodb, table, "other-run.1", "b", 9.0, 9.0)  # not this run's
    result = order_audit(endpoints(gateway, table=table), f"{run}.")
    assert (result["keys"], result["items"], result["violations"]) == (2, 5, 1)
    assert result["samples"][0]["event_id"] == f"{run}.5"
