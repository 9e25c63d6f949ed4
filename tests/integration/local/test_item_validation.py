"""Items DynamoDB refuses are refused by the local gateway too (dynalite alone takes them),
with DynamoDB's error code; in BatchWriteItem the whole call fails and nothing is written."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from pipeline import aws_limits as L
from tests.integration.local.conftest import unique
from tests.integration.local.test_dynamodb_limits import create_table

pytestmark = pytest.mark.integration


def nested(depth: int) -> dict:
    value: dict = {"N": "1"}
    for _ in range(depth):
        value = {"M": {"k": value}}
    return value


REFUSED_PAYLOADS = {
    "empty top-level name": ({"": {"S": "x"}}, "Empty attribute name"),
    "empty map key deep down": (
        {"payload": {"M": {"a": {"L": [{"M": {"": {"N": "1"}}}]}}}},
        "Empty attribute name",
    ),
    "name over 64 KB": ({"n" * 65_536: {"S": "x"}}, "exceeds the maximum of 65535 bytes"),
    "nested 33 levels": ({"payload": nested(33)}, "Nesting Levels have exceeded"),
    "39 significant digits": ({"n": {"N": "1" * 39}}, "more than 38 significant digits"),
    "number too large": ({"n": {"N": "1E+126"}}, "Number overflow"),
    "number too small": ({"n": {"N": "1E-131"}}, "Number underflow"),
    # 409,000 bytes of value fit alone; the 1,000-byte name pushes it over 400 KB.
    "over 400 KB with its name": (
        {"x" * 1_000: {"S": "v" * 409_000}},
        "Item size has exceeded the maximum allowed size",
    ),
}


@pytest.fixture(scope="module")
def table(gateway):
    from tests.integration.local.conftest import client_for

    return create_table(client_for(gateway, "dynamodb"), rcu=1000, wcu=1000)


@pytest.mark.parametrize("kind", sorted(REFUSED_PAYLOADS))
def test_put_item_is_refused_like_dynamodb(aws, table, kind):
    attributes, message = REFUSED_PAYLOADS[kind]
    dynamodb = aws("dynamodb")
    item = {"event_id": {"S": unique("bad")}, **attributes}

    with pytest.raises(ClientError) as raised:
        dynamodb.put_item(TableName=table, Item=item)

    error = raised.value.response["Error"]
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Code"] == "ValidationException"
    assert message in error["Message"]
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"event_id": item["event_id"]})


def test_one_refused_item_fails_the_whole_batch_write(aws, table):
    dynamodb = aws("dynamodb")
    good = [{"event_id": {"S": unique("good")}, "v": {"N": "1"}} for _ in range(24)]
    bad = {"event_id": {"S": unique("bad")}, "payload": {"M": {"": {"S": "x"}}}}
    requests = [{"PutRequest": {"Item": item}} for item in [*good, bad]]

    with pytest.raises(ClientError) as raised:
        dynamodb.batch_write_item(RequestItems={table: requests})

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    for item in good:
        key = {"event_id": item["event_id"]}
        assert "Item" not in dynamodb.get_item(TableName=table, Key=key)


def test_items_at_the_limits_are_stored(aws, table):
    dynamodb = aws("dynamodb")
    item = {
        "event_id": {"S": unique("edge")},
        "deep": nested(L.DYNAMODB_MAX_NESTING_DEPTH - 1),
        "digits": {"N": "9" * 38},
        "big": {"N": "9.9999999999999999999999999999999999999E+125"},
        "small": {"N": "1E-130"},
        "k" * 1000: {"S": "v"},
    }

    dynamodb.put_item(TableName=table, Item=item)

    stored = dynamodb.get_item(TableName=table, Key={"event_id": item["event_id"]})["Item"]
    assert stored["digits"] == {"N": "9" * 38}


def test_a_message_over_the_queue_size_is_refused(aws):
    from pipeline.local.runtime.provision import ensure_queue

    sqs = aws("sqs")
    url, _ = ensure_queue(sqs, unique("dlq"), 3600)

    with pytest.raises(ClientError) as raised:
        sqs.send_message(QueueUrl=url, MessageBody="x" * (L.SQS_MAX_MESSAGE_BYTES + 1))

    error = raised.value.response["Error"]
    assert error["Code"] in ("InvalidParameterValue", "InvalidParameterValueException")
    assert f"Message must be shorter than {L.SQS_MAX_MESSAGE_BYTES} bytes" in error["Message"]
    sqs.send_message(QueueUrl=url, MessageBody="x" * L.SQS_MAX_MESSAGE_BYTES)
