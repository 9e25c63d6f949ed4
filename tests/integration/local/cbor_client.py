"""A Kinesis client that speaks CBOR as the AWS SDK for Java does (botocore cannot: its Kinesis
model is JSON only): cbor2 bodies, `application/x-amz-cbor-1.1`, timestamps as tag 1 holding
epoch milliseconds, signed with botocore's SigV4."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import cbor2
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from pipeline.local.aws import kinesis_cbor

CONTENT_TYPE = "application/x-amz-cbor-1.1"


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes

    @property
    def data(self) -> Any:
        return kinesis_cbor.decode(self.body) if self.body else None

    @property
    def error_type(self) -> str | None:
        data = self.data
        return data.get("__type") if isinstance(data, dict) else None


def java_timestamp(epoch_seconds: float) -> cbor2.CBORTag:
    return cbor2.CBORTag(1, round(epoch_seconds * 1000))


def call(
    endpoint: str,
    operation: str,
    payload: Any = None,
    *,
    raw_body: bytes | None = None,
    sign: bool = True,
    secret: str = "test",
    method: str = "POST",
    content_type: str = CONTENT_TYPE,
) -> Reply:
    body = raw_body if raw_body is not None else cbor2.dumps(payload if payload else {})
    request = AWSRequest(
        method=method,
        url=endpoint + "/",
        data=body,
        headers={"Content-Type": content_type, "X-Amz-Target": f"Kinesis_20131202.{operation}"},
    )
    if sign:
        SigV4Auth(Credentials("test", secret), "kinesis", "us-east-1").add_auth(request)
    prepared = urllib.request.Request(
        endpoint + "/", data=body or None, headers=dict(request.headers.items()), method=method
    )
    try:
        with urllib.request.urlopen(prepared, timeout=30) as reply:  # nosec B310
            return Reply(reply.status, reply.headers.get("Content-Type", ""), reply.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, exc.headers.get("Content-Type", ""), exc.read())
