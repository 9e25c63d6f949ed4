"""SigV4 verification: botocore signs, verify_sigv4 recomputes; each way a request can be wrong
gets its own reason."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from pipeline.local.sigv4 import SigV4Error, verify_sigv4

SECRETS = {"AKIDLOCAL": "local-secret"}
URL = "http://127.0.0.1:8080/events/abc%20def?type=order&limit=5"


def signed(method="GET", url=URL, body=b"", key="AKIDLOCAL", secret="local-secret", **scope):
    request = AWSRequest(method=method, url=url, data=body)
    SigV4Auth(
        Credentials(key, secret),
        scope.get("service", "execute-api"),
        scope.get("region", "us-east-1"),
    ).add_auth(request)
    headers = dict(request.headers)
    headers["Host"] = urlsplit(url).netloc
    return headers


def verify(headers, method="GET", url=URL, body=b"", now=None):
    split = urlsplit(url)
    verify_sigv4(
        method,
        split.path,
        split.query,
        headers,
        body,
        secret_for=SECRETS.get,
        service="execute-api",
        region="us-east-1",
        now=now if now is not None else time.time(),
    )


def test_a_request_botocore_signed_is_accepted():
    verify(signed())
    verify(signed("POST", body=b'{"a": 1}'), "POST", body=b'{"a": 1}')


def reason_of(headers, **kwargs) -> SigV4Error:
    with pytest.raises(SigV4Error) as error:
        verify(headers, **kwargs)
    return error.value


def test_each_wrong_request_has_its_reason():
    assert reason_of({"Host": "127.0.0.1:8080"}).reason == "missing"
    assert reason_of({"Authorization": "Bearer x", "Host": "h"}).reason == "incomplete"
    no_date = {k: v for k, v in signed().items() if k != "X-Amz-Date"}
    assert reason_of(no_date).reason == "incomplete"
    assert reason_of(signed(secret="another-secret")).reason == "bad_signature"
    assert reason_of(signed(key="AKIDUNKNOWN")).reason == "unknown_key"
    assert reason_of(signed(region="eu-west-1")).reason == "wrong_scope"
    assert reason_of(signed(service="lambda")).reason == "wrong_scope"
    error = reason_of(signed(), now=time.time() + 16 * 60)
    assert error.reason == "expired" and "Signature expired" in error.message


def test_a_changed_request_no_longer_matches_its_signature():
    headers = signed("POST", body=b"original")
    assert reason_of(headers, method="POST", body=b"tampered").reason == "bad_signature"
    assert reason_of(signed(), url=URL.replace("limit=5", "limit=6")).reason == "bad_signature"
    assert reason_of(signed(), url=URL.replace("abc", "abd")).reason == "bad_signature"
    moved = {**signed(), "Host": "127.0.0.1:9090"}
    assert reason_of(moved).reason == "bad_signature"
