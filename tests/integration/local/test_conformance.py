"""Conformance: the same requests through the gateway and to the bare engine behind it
(kinesalite, dynalite) must get the same answers: status, content type and body (request ids,
sequence numbers, iterators and times aside), apart from the intended differences listed in
INTENDED_DIFFERENCES and in docs/local-aws.md. The test also fails if an intended difference
stops being one, so the list cannot go stale."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import cbor2
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from pipeline.local.aws import kinesis_cbor

pytestmark = pytest.mark.integration

KINESIS_JSON = "application/x-amz-json-1.1"
DYNAMODB_JSON = "application/x-amz-json-1.0"
CBOR = "application/x-amz-cbor-1.1"
GATEWAY_NAME, BARE_NAME = "conf-gateway", "conf-bare"
VOLATILE = {
    "SequenceNumber",
    "ShardIterator",
    "NextShardIterator",
    "StreamCreationTimestamp",
    "CreationDateTime",
    "TableId",
}


@dataclass
class Case:
    id: str
    target: str | None
    payload: Any = field(default_factory=dict)
    content_type: str = KINESIS_JSON
    method: str = "POST"
    auth: str = "signed"  # signed | none | incomplete | both | wrong-secret
    raw_body: bytes | None = None

    @property
    def service(self) -> str:
        return "dynamodb" if (self.target or "").startswith("DynamoDB") else "kinesis"

    def body(self, name: str) -> bytes:
        if self.raw_body is not None:
            return self.raw_body
        text = json.dumps(self.payload).replace("NAME", name)
        if self.content_type == CBOR:
            return cbor2.dumps(json.loads(text))
        return text.encode()


def k(op: str, payload: Any = None, **kwargs: Any) -> Case:
    return Case(
        kwargs.pop("id", f"kinesis {op}"), f"Kinesis_20131202.{op}", payload or {}, **kwargs
    )


def d(op: str, payload: Any = None, **kwargs: Any) -> Case:
    kwargs.setdefault("content_type", DYNAMODB_JSON)
    return Case(
        kwargs.pop("id", f"dynamodb {op}"), f"DynamoDB_20120810.{op}", payload or {}, **kwargs
    )


RECORD = {"Data": "eA==", "PartitionKey": "k"}
CASES = [
    # Kinesis, JSON
    k("ListStreams"),
    k("ListStreams", {"Limit": 100000}, id="kinesis ListStreams limit too high"),
    k("CreateStream", {"StreamName": "NAME", "ShardCount": 1}),
    k("CreateStream", {"StreamName": "NAME", "ShardCount": 1}, id="kinesis CreateStream again"),
    k("CreateStream", {"StreamName": "NAME-0", "ShardCount": 0}, id="kinesis CreateStream 0"),
    k("CreateStream", {"StreamName": "NAME-b", "ShardCount": 20000}, id="kinesis over shard limit"),
    k("DescribeStreamSummary", {"StreamName": "NAME"}),
    k("DescribeStream", {"StreamName": "NAME"}),
    k("DescribeStreamSummary", {"StreamName": "missing"}, id="kinesis describe missing"),
    k("ListShards", {"StreamName": "NAME"}),
    k("PutRecord", dict(RECORD, StreamName="NAME")),
    k("PutRecord", dict(RECORD, StreamName="missing"), id="kinesis PutRecord missing stream"),
    k(
        "PutRecord",
        {"StreamName": "NAME", "Data": "eA==", "PartitionKey": "k" * 257},
        id="kinesis PutRecord key too long",
    ),
    k(
        "PutRecord",
        {"StreamName": "NAME", "Data": "not base64!", "PartitionKey": "k"},
        id="kinesis PutRecord bad base64",
    ),
    k("PutRecords", {"StreamName": "NAME", "Records": [RECORD] * 3}),
    k("PutRecords", {"StreamName": "NAME", "Records": [RECORD] * 501}, id="kinesis PutRecords 501"),
    k("PutRecords", {"StreamName": "NAME", "Records": "x"}, id="kinesis PutRecords not a list"),
    k(
        "PutRecords",
        {"StreamName": "missing", "Records": [RECORD]},
        id="kinesis PutRecords missing",
    ),
    k("GetRecords", {"ShardIterator": "bad"}, id="kinesis GetRecords bad iterator"),
    k(
        "GetShardIterator",
        {"StreamName": "missing", "ShardId": "shardId-000000000000", "ShardIteratorType": "LATEST"},
        id="kinesis iterator missing stream",
    ),
    k("Explode", id="kinesis unknown operation"),
    k("ListStreams", raw_body=b"{not json", id="kinesis body not JSON"),
    k("ListStreams", raw_body=b"", id="kinesis empty body"),
    k("ListStreams", auth="none", id="kinesis unsigned"),
    k("ListStreams", auth="incomplete", id="kinesis incomplete signature"),
    k("ListStreams", auth="wrong-secret", id="kinesis wrong secret"),
    k("ListStreams", auth="both", id="kinesis header and query signature"),
    k("ListStreams", method="GET", id="kinesis GET"),
    k("ListStreams", method="PUT", id="kinesis PUT"),
    k("ListStreams", method="DELETE", id="kinesis DELETE"),
    k("ListStreams", content_type="application/json", id="kinesis application/json"),
    k("ListStreams", content_type="text/plain", id="kinesis text/plain"),
    # Kinesis, CBOR
    k("ListStreams", content_type=CBOR, id="cbor ListStreams"),
    k(
        "PutRecord",
        {"StreamName": "missing", "PartitionKey": "k", "Data": "eA=="},
        content_type=CBOR,
        id="cbor PutRecord missing stream",
    ),
    k(
        "PutRecord",
        {"StreamName": "NAME", "Data": "eA==", "PartitionKey": "k" * 257},
        content_type=CBOR,
        id="cbor PutRecord key too long",
    ),
    k("Explode", content_type=CBOR, id="cbor unknown operation"),
    k("ListStreams", raw_body=b"\xff\x00", content_type=CBOR, id="cbor body not CBOR"),
    k("ListStreams", raw_body=b"", content_type=CBOR, id="cbor empty body"),
    k("ListStreams", content_type=CBOR, auth="none", id="cbor unsigned"),
    k(
        "DescribeStreamSummary",
        {"StreamName": "NAME"},
        content_type=CBOR,
        id="cbor DescribeStreamSummary",
    ),
    k("PutRecord", dict(RECORD, StreamName="NAME"), content_type=CBOR, id="cbor PutRecord"),
    # DynamoDB
    d("ListTables"),
    d("ListTables", content_type="application/json", id="dynamodb ListTables application/json"),
    d("ListTables", {"Limit": 1000}, id="dynamodb ListTables limit too high"),
    d(
        "CreateTable",
        {
            "TableName": "NAME",
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
        },
    ),
    d("CreateTable", {"TableName": "NAME-x"}, id="dynamodb CreateTable invalid"),
    d("DescribeTable", {"TableName": "missing"}, id="dynamodb DescribeTable missing"),
    d(
        "PutItem",
        {"TableName": "missing", "Item": {"k": {"S": "1"}}},
        id="dynamodb PutItem missing",
    ),
    d("PutItem", {"TableName": "NAME", "Item": {"k": {"S": "1"}}}),
    d("GetItem", {"TableName": "NAME", "Key": {"k": {"S": "1"}}}),
    d(
        "BatchWriteItem",
        {
            "RequestItems": {
                "NAME": [{"PutRequest": {"Item": {"k": {"S": str(n)}}}} for n in range(26)]
            }
        },
        id="dynamodb BatchWriteItem 26",
    ),
    d("Explode", id="dynamodb unknown operation"),
    d("ListTables", raw_body=b"{not json", id="dynamodb body not JSON"),
    d("ListTables", raw_body=b"", id="dynamodb empty body"),
    d("ListTables", auth="none", id="dynamodb unsigned"),
    d("ListTables", auth="incomplete", id="dynamodb incomplete signature"),
    d("ListTables", auth="wrong-secret", id="dynamodb wrong secret"),
    d("ListTables", auth="both", id="dynamodb header and query signature"),
    d("ListTables", content_type="text/plain", id="dynamodb text/plain"),
    d("ListTables", method="GET", id="dynamodb GET"),
]

# case id -> why the gateway answers differently from the bare engine (docs/local-aws.md).
INTENDED_DIFFERENCES = {
    "kinesis DescribeStreamSummary": "stream modes: the gateway adds StreamModeDetails",
    "kinesis DescribeStream": "stream modes: the gateway adds StreamModeDetails",
    "cbor DescribeStreamSummary": "stream modes, and CBOR timestamps as tag 1 milliseconds",
    "kinesis wrong secret": "the gateway verifies the signature; the engines only check that "
    "one is present and complete",
    "dynamodb wrong secret": "the gateway verifies the signature; the engines only check that "
    "one is present and complete",
    "dynamodb GET": "one endpoint for every service: a GET names no service, answered as "
    "Kinesis's endpoint answers it (dynalite answers its own health text)",
}


def answer(case: Case, port: int, name: str, gateway_host: str) -> tuple[int, str, Any]:
    body = case.body(name)
    url = f"http://127.0.0.1:{port}/"
    headers = {"Content-Type": case.content_type}
    if case.target:
        headers["X-Amz-Target"] = case.target
    request = AWSRequest(
        method=case.method, url=f"http://{gateway_host}/", data=body, headers=headers
    )
    if case.auth in ("signed", "both", "wrong-secret"):
        secret = "wrong" if case.auth == "wrong-secret" else "test"
        SigV4Auth(Credentials("test", secret), case.service, "us-east-1").add_auth(request)
    sent = dict(request.headers.items())
    if case.auth == "incomplete":
        sent["Authorization"] = "AWS4-HMAC-SHA256 Credential=test/20261201/us-east-1"
        sent["X-Amz-Date"] = "20261201T000000Z"
    if case.auth == "both":
        url += "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    prepared = urllib.request.Request(
        url, data=body if case.method in ("POST", "PUT") else None, headers=sent, method=case.method
    )
    try:
        with urllib.request.urlopen(prepared, timeout=30) as reply:  # nosec B310
            status, content_type, data = (
                reply.status,
                reply.headers.get("Content-Type"),
                reply.read(),
            )
    except urllib.error.HTTPError as exc:
        status, content_type, data = exc.code, exc.headers.get("Content-Type"), exc.read()
    return status, content_type or "", normalise(data, content_type or "", name)


def normalise(data: bytes, content_type: str, name: str) -> Any:
    if not data:
        return b""
    try:
        parsed = kinesis_cbor.decode(data) if "cbor" in content_type else json.loads(data)
    except Exception:
        return data.replace(GATEWAY_NAME.encode(), b"NAME").replace(BARE_NAME.encode(), b"NAME")
    return _scrub(parsed, name)


def _scrub(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        return {k: "*" if k in VOLATILE else _scrub(v, name) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, name) for v in value]
    if isinstance(value, str):
        # Each side creates its own stream and table: both names read as NAME.
        return value.replace(GATEWAY_NAME, "NAME").replace(BARE_NAME, "NAME")
    if isinstance(value, kinesis_cbor.EpochTag):
        return "*"
    return value


def test_gateway_answers_as_the_bare_engine_but_for_the_documented_differences(gateway):
    engines = json.loads(gateway.control("GET", "config")[1])["engines"]
    ports = {"kinesis": engines["kinesalite"]["port"], "dynamodb": engines["dynalite"]["port"]}
    host = f"127.0.0.1:{gateway.port}"
    identical, different, unexpected = [], [], []
    for case in CASES:
        through = answer(case, gateway.port, GATEWAY_NAME, host)
        bare = answer(case, ports[case.service], BARE_NAME, host)
        if through == bare:
            identical.append(case.id)
            if case.id in INTENDED_DIFFERENCES:
                unexpected.append(f"{case.id}: listed as a difference but answers identically")
        else:
            different.append(case.id)
            if case.id not in INTENDED_DIFFERENCES:
                unexpected.append(f"{case.id}:\n  gateway {through!r}\n  engine  {bare!r}")
    print(
        f"\nconformance: {len(identical)} of {len(CASES)} request cases answer identically "
        f"through the gateway and from the bare engine; intended differences: {different}"
    )
    assert not unexpected, "\n".join(unexpected)


def test_get_records_after_delete_stream_names_the_shard_as_the_engine_does(aws):
    kinesis = aws("kinesis")
    kinesis.create_stream(StreamName="conf-deleted", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(
        StreamName="conf-deleted", WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    iterator = kinesis.get_shard_iterator(
        StreamName="conf-deleted", ShardId="shardId-000000000000", ShardIteratorType="LATEST"
    )["ShardIterator"]
    kinesis.delete_stream(StreamName="conf-deleted")
    kinesis.get_waiter("stream_not_exists").wait(
        StreamName="conf-deleted", WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException) as caught:
        kinesis.get_records(ShardIterator=iterator)
    assert caught.value.response["Error"]["Message"] == (
        "Shard shardId-000000000000 in stream conf-deleted under account 000000000000 "
        "does not exist"
    )


def test_what_the_gateway_adds_is_a_header_not_the_aws_body(gateway):
    request = urllib.request.Request(
        gateway.endpoint_url + "/",
        data=b"{}",
        headers={"Content-Type": KINESIS_JSON, "X-Amz-Target": "Nonsense_2020.Call"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)  # nosec B310
    assert caught.value.code == 400
    assert json.loads(caught.value.read()) == {"__type": "UnknownOperationException"}
    assert (
        "Nonsense_2020.Call is not served by the local gateway"
        in (caught.value.headers["x-redline-hint"])
    )
