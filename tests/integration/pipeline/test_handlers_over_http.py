"""Both handlers as deployed, configured only by environment variables, talking real HTTP
to an AWS endpoint on a free 127.0.0.1 port (moto's server standing in for the local stack)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.conftest import load_event
from tests.events.builders import http_event
from tests.events.generate import POISON_INDEX
from tests.unit.pipeline.aws import (
    QUEUE_NAME,
    TABLE_NAME,
    TYPE_INDEX_NAME,
    create_table,
    fresh_import,
    set_aws_environment,
)

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        url = f"http://127.0.0.1:{port}"
        set_aws_environment(monkeypatch)
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        yield url
    finally:
        server.stop()


def test_a_batch_goes_in_through_ingest_and_comes_back_through_the_api(
    endpoint, monkeypatch, lambda_context
):
    dynamodb = boto3.client("dynamodb")
    sqs = boto3.client("sqs")
    create_table(dynamodb)
    queue_url = sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
    for name, value in {
        "TABLE_NAME": TABLE_NAME,
        "TYPE_INDEX_NAME": TYPE_INDEX_NAME,
        "DLQ_URL": queue_url,
    }.items():
        monkeypatch.setenv(name, value)
    ingest = fresh_import("pipeline.ingest.handler")
    api = fresh_import("pipeline.api.handler")

    batch = load_event("kinesis-batch-100-one-poison.json")
    assert ingest.lambda_handler(batch, lambda_context) == {"batchItemFailures": []}

    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["sequence_number"] for m in messages] == [
        batch["Records"][POISON_INDEX]["kinesis"]["sequenceNumber"]
    ]
    seen = []
    cursor = None
    for _ in range(10):
        query = {"type": "click", "limit": "7", **({"cursor": cursor} if cursor else {})}
        response = api.lambda_handler(http_event("GET", "/events", query), lambda_context)
        assert response["statusCode"] == 200
        page = json.loads(response["body"])
        seen += [item["event_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    clicks = [i for i in range(0, 100, 3) if i != POISON_INDEX]
    assert seen == [f"evt-{i:06d}" for i in clicks]
