"""What a user sees when things go wrong: AWS error shapes for malformed requests, one-line
reasons when the gateway cannot start or an engine dies, and the control routes."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import urllib.request

import pytest

from pipeline.local.aws import GatewayError
from tests.integration.local.conftest import client_for, unique

pytestmark = pytest.mark.integration


def raw_post(gateway, target: str | None, body: bytes, content_type="application/x-amz-json-1.1"):
    headers = {"Content-Type": content_type}
    if target:
        headers["X-Amz-Target"] = target
    request = urllib.request.Request(
        gateway.endpoint_url + "/", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize(
    ("target", "body", "code"),
    [
        ("Kinesis_20131202.PutRecords", b"{not json", "SerializationException"),
        ("Kinesis_20131202.PutRecords", b"[1, 2]", "SerializationException"),
        ("DynamoDB_20120810.PutItem", b"\xff\xfe", "SerializationException"),
        ("DynamoDB_20120810.PutItem", b"[]", "SerializationException"),
        # kinesalite answers as Kinesis does: the type alone, no message.
        ("Kinesis_20131202.Explode", b"{}", "UnknownOperationException"),
        ("Nonsense_2020.Call", b"{}", "UnknownOperationException"),
        (None, b"{}", "UnknownOperationException"),
    ],
)
def test_malformed_requests_get_an_aws_error_never_a_500(gateway, target, body, code):
    dynamodb = (target or "").startswith("DynamoDB_")
    content_type = "application/x-amz-json-1.0" if dynamodb else "application/x-amz-json-1.1"
    status, reply = raw_post(gateway, target, body, content_type)
    assert status == 400
    assert reply["__type"].rsplit("#", 1)[-1] == code
    # As AWS: these errors carry the type alone (the gateway's explanation is a header).
    assert "message" not in reply


def test_kinesis_validation_messages_are_aws_own(aws):
    kinesis = aws("kinesis")
    name = unique("stream")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    time.sleep(0.2)
    with pytest.raises(kinesis.exceptions.ClientError) as too_many:
        kinesis.put_records(StreamName=name, Records=[{"Data": b"x", "PartitionKey": "k"}] * 501)
    assert too_many.value.response["Error"]["Code"] == "ValidationException"
    assert (
        "Member must have length less than or equal to 500"
        in too_many.value.response["Error"]["Message"]
    )
    with pytest.raises(kinesis.exceptions.ClientError) as long_key:
        kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k" * 257)
    assert long_key.value.response["Error"]["Code"] == "ValidationException"
    assert (
        "Member must have length less than or equal to 256"
        in long_key.value.response["Error"]["Message"]
    )
    with pytest.raises(kinesis.exceptions.ClientError) as big:
        kinesis.put_record(StreamName=name, Data=b"x" * (1024 * 1024 + 1), PartitionKey="k")
    assert big.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException) as missing:
        kinesis.put_records(
            StreamName="no-such-stream", Records=[{"Data": b"x", "PartitionKey": "k"}]
        )
    assert missing.value.response["Error"]["Message"] == (
        "Stream no-such-stream under account 000000000000 not found."
    )


def test_dynamodb_errors_are_aws_own(aws):
    dynamodb = aws("dynamodb")
    with pytest.raises(dynamodb.exceptions.ResourceNotFoundException) as missing:
        dynamodb.put_item(TableName="no-such-table", Item={"event_id": {"S": "1"}})
    assert missing.value.response["Error"]["Message"] == "Requested resource not found"
    with pytest.raises(dynamodb.exceptions.ClientError) as invalid:
        dynamodb.batch_write_item(
            RequestItems={
                "tbl": [{"PutRequest": {"Item": {"k": {"S": str(n)}}}} for n in range(26)]
            }
        )
    assert invalid.value.response["Error"]["Code"] == "ValidationException"
    assert (
        "Member must have length less than or equal to 25"
        in invalid.value.response["Error"]["Message"]
    )


def test_control_routes_health_config_and_unknown(gateway):
    status, body = gateway.control("GET", "health")
    health = json.loads(body)
    assert status == 200 and health["ok"] is True
    assert set(health["checks"]) == {"kinesalite", "dynalite", "moto", "cloudwatch"}
    status, body = gateway.control("GET", "config")
    assert status == 200 and json.loads(body)["limits"] is True
    status, body = gateway.control("GET", "nothing-here")
    assert status == 404
    assert "GET /_redline/health" in " ".join(json.loads(body)["routes"])


def test_reset_drops_every_stream_table_queue_and_metric(gateway_factory):
    gateway = gateway_factory()
    kinesis, dynamodb, sqs = (client_for(gateway, s) for s in ("kinesis", "dynamodb", "sqs"))
    kinesis.create_stream(StreamName="before-reset", ShardCount=1)
    dynamodb.create_table(
        TableName="before-reset",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sqs.create_queue(QueueName="before-reset")
    gateway.reset()
    assert kinesis.list_streams()["StreamNames"] == []
    assert dynamodb.list_tables()["TableNames"] == []
    assert sqs.list_queues().get("QueueUrls", []) == []
    assert gateway.control("GET", "health")[0] == 200


def test_no_limits_accepts_more_than_a_shard_takes(gateway_factory):
    gateway = gateway_factory(limits=False)
    kinesis = client_for(gateway, "kinesis")
    kinesis.create_stream(StreamName="free", ShardCount=1)
    time.sleep(0.2)
    failed = sum(
        kinesis.put_records(
            StreamName="free", Records=[{"Data": b"x" * 1000, "PartitionKey": "k"}] * 500
        )["FailedRecordCount"]
        for _ in range(4)
    )
    assert failed == 0


def test_port_in_use_is_a_one_line_error_naming_the_fix(gateway_factory):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(GatewayError) as caught:
            gateway_factory(port=port)
    message = str(caught.value)
    assert f"port {port} on 127.0.0.1 is already in use" in message
    assert "--port" in message and "REDLINE_AWS_PORT" in message


def test_node_missing_is_a_one_line_error_naming_the_fix(gateway_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("REDLINE_NODE", str(tmp_path / "no-node"))
    with pytest.raises(GatewayError) as caught:
        gateway_factory()
    assert "is not an executable node" in str(caught.value)


def test_engines_not_installed_says_run_make_engines(gateway_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("REDLINE_ENGINES_DIR", str(tmp_path))
    with pytest.raises(GatewayError) as caught:
        gateway_factory()
    assert "are not installed" in str(caught.value)
    assert "make engines" in str(caught.value)


def test_an_engine_that_dies_stops_the_gateway_with_a_one_line_error(gateway_factory):
    gateway = gateway_factory()
    engines = json.loads(gateway.control("GET", "config")[1])["engines"]
    os.kill(engines["kinesalite"]["pid"], signal.SIGKILL)
    assert gateway.process.wait(timeout=30) == 3
    errors = [
        line for line in gateway.log_path.read_text().splitlines() if line.startswith("error")
    ]
    assert len(errors) == 1
    assert "engine kinesis exited" in errors[0] and "restart the gateway" in errors[0]


def test_calls_after_the_engines_closed_idle_connections_still_succeed(aws):
    """node closes idle keep-alive connections after 5 s; the gateway reconnects once."""
    kinesis, dynamodb = aws("kinesis"), aws("dynamodb")
    kinesis.list_streams()
    dynamodb.list_tables()
    time.sleep(5.5)
    assert "StreamNames" in kinesis.list_streams()
    assert "TableNames" in dynamodb.list_tables()
