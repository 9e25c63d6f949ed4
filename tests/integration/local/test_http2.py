"""HTTP/2 with prior knowledge on the gateway's port: the same answers as HTTP/1.1, streams
multiplexed on one connection (a raw h2 client here; tests/sdk-js drives the AWS SDK)."""

from __future__ import annotations

import http.client
import json
import socket

import h2.connection
import h2.events
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .conftest import unique


def _headers(port: int, target: str, body: bytes) -> dict[str, str]:
    """Headers of a call signed with the stack's credentials, as any AWS client sends them."""
    service = "dynamodb" if target.startswith("DynamoDB") else "kinesis"
    content_type = (
        "application/x-amz-json-1.0" if service == "dynamodb" else ("application/x-amz-json-1.1")
    )
    request = AWSRequest(
        method="POST",
        url=f"http://127.0.0.1:{port}/",
        data=body,
        headers={"X-Amz-Target": target, "Content-Type": content_type},
    )
    SigV4Auth(Credentials("test", "test"), service, "us-east-1").add_auth(request)
    headers = {name.lower(): value for name, value in request.headers.items()}
    return {"host": f"127.0.0.1:{port}", **headers, "content-length": str(len(body))}


def h2_calls(port: int, calls: list[tuple[str, bytes]]) -> list[tuple[int, dict, bytes]]:
    """Send every (target, body) as its own stream on one connection, all before reading."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        conn = h2.connection.H2Connection()
        conn.initiate_connection()
        ids = []
        for target, body in calls:
            stream_id = conn.get_next_available_stream_id()
            ids.append(stream_id)
            request = [(":method", "POST"), (":path", "/"), (":scheme", "http")]
            request += [(":authority", f"127.0.0.1:{port}")]
            request += list(_headers(port, target, body).items())
            conn.send_headers(stream_id, request)
            step = conn.max_outbound_frame_size  # bodies stay under the 64 KiB first window
            for offset in range(0, len(body), step):
                last = offset + step >= len(body)
                conn.send_data(stream_id, body[offset : offset + step], end_stream=last)
        sock.sendall(conn.data_to_send())
        answers: dict[int, dict] = {i: {"body": b""} for i in ids}
        done: set[int] = set()
        while len(done) < len(ids):
            data = sock.recv(65536)
            assert data, "the gateway closed the HTTP/2 connection early"
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    answers[event.stream_id]["headers"] = {
                        k.decode(): v.decode() for k, v in event.headers
                    }
                elif isinstance(event, h2.events.DataReceived):
                    answers[event.stream_id]["body"] += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    done.add(event.stream_id)
            sock.sendall(conn.data_to_send())
    return [
        (int(answers[i]["headers"][":status"]), answers[i]["headers"], answers[i]["body"])
        for i in ids
    ]


def http1_call(port: int, target: str, body: bytes) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/", body, _headers(port, target, body))
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_errors_and_answers_are_the_same_as_over_http_1_1(gateway):
    calls = [
        ("Kinesis_20131202.DescribeStreamSummary", json.dumps({"StreamName": unique("none")})),
        ("Kinesis_20131202.NoSuchOperation", "{}"),
        ("DynamoDB_20120810.DescribeTable", json.dumps({"TableName": unique("none")})),
    ]
    encoded = [(target, body.encode()) for target, body in calls]
    over_h2 = h2_calls(gateway.port, encoded)
    over_h1 = [http1_call(gateway.port, target, body) for target, body in encoded]
    for (status2, headers2, body2), (status1, headers1, body1) in zip(
        over_h2, over_h1, strict=True
    ):
        assert status2 == status1 and status2 >= 400
        assert (
            json.loads(body2)["__type"].split("#")[-1] == json.loads(body1)["__type"].split("#")[-1]
        )
        assert headers2["content-type"] == headers1["Content-Type"]
    assert json.loads(over_h2[0][2])["__type"].endswith("ResourceNotFoundException")


def test_many_streams_on_one_connection_put_and_read_back(gateway, aws):
    kinesis = aws("kinesis")
    stream = unique("h2")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2})
    puts = [
        (
            "Kinesis_20131202.PutRecord",
            json.dumps(
                {"StreamName": stream, "Data": "aGVsbG8=", "PartitionKey": f"k{i}"}
            ).encode(),
        )
        for i in range(20)
    ]
    answers = h2_calls(gateway.port, puts)
    assert [status for status, _, _ in answers] == [200] * 20
    sequence_numbers = {json.loads(body)["SequenceNumber"] for _, _, body in answers}
    assert len(sequence_numbers) == 20
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator, Limit=100)["Records"]
    assert {r["SequenceNumber"] for r in records} == sequence_numbers
