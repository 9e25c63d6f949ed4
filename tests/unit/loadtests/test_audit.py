import base64
import json

import boto3
import pytest
from moto import mock_aws

from loadtests import audit

REGION = "us-east-1"


def test_compare_counts_lost_and_unexpected():
    result = audit.compare({"a", "b", "c", "d"}, stored={"a", "b", "x"}, dead_lettered={"c"})
    assert result.to_dict() | {} == {
        "produced": 4,
        "stored": 2,
        "dead_lettered": 1,
        "lost": 1,
        "unexpected": 1,
        "lost_sample": ["d"],
        "unexpected_sample": ["x"],
        "drained": True,
        "drain_wait_s": 0.0,
    }


def test_dlq_bodies_give_the_event_id_or_it_is_read_from_the_data():
    assert audit.event_id_of(json.dumps({"event_id": "e1", "data": ""})) == "e1"
    data = base64.b64encode(json.dumps({"event_id": "e2"}).encode()).decode()
    assert audit.event_id_of(json.dumps({"event_id": None, "data": data})) == "e2"
    assert audit.event_id_of("not json") is None


def test_acknowledged_ids_are_read_from_every_process(tmp_path):
    (tmp_path / "acked-1.txt").write_text("r.a\nr.b\n")
    (tmp_path / "acked-2.txt").write_text("r.c\n")
    ids, tails = audit.read_acked(tmp_path)
    assert ids == {"r.a", "r.b", "r.c"}
    assert sorted(tails) == ["r.a", "r.b", "r.c"]


@pytest.fixture
def aws():
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="events",
            KeySchema=[{"AttributeName": "event_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "event_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        yield dynamodb, sqs, queue_url


def test_table_and_dlq_are_read_for_this_run_only(aws):
    dynamodb, sqs, queue_url = aws
    for event_id in ("run1.p.1", "run1.p.2", "run0.p.9"):
        dynamodb.put_item(TableName="events", Item={"event_id": {"S": event_id}})
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"event_id": "run1.p.3"}))
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"event_id": "run0.p.8"}))
    assert audit.stored_ids(dynamodb, "events", "run1.") == {"run1.p.1", "run1.p.2"}
    assert audit.dead_lettered_ids(sqs, queue_url, "run1.") == {"run1.p.3"}
    # the audit leaves the messages in the queue
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "2"


def test_waiting_for_the_consumer_is_bounded(aws):
    dynamodb, _, _ = aws
    dynamodb.put_item(TableName="events", Item={"event_id": {"S": "run1.p.1"}})
    assert audit.wait_until_stored(dynamodb, "events", ["run1.p.1"], 5, sleep=lambda s: None)[0]
    drained, _ = audit.wait_until_stored(
        dynamodb, "events", ["run1.p.1", "run1.p.404"], 0.0, sleep=lambda s: None
    )
    assert not drained
