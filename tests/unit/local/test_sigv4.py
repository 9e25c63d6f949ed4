"""SigV4 verification: requests signed by botocore pass, and every way AWS refuses one is
refused with AWS's reason and wording."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from unittest import mock
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from pipeline.local.sigv4 import REASONS, SigV4Error, verify_sigv4

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC).timestamp()
KEYS = {"test": "test", "AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
BODY = json.dumps({"StreamName": "events", "Data": "eA==", "PartitionKey": "k"}).encode()


def signed(
    *,
    key: str = "test",
    secret: str | None = None,
    service: str = "kinesis",
    region: str = "us-east-1",
    at: float = NOW,
    body: bytes = BODY,
    url: str = "http://127.0.0.1:4566/",
) -> AWSRequest:
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "Kinesis_20131202.PutRecord",
        },
    )
    auth = SigV4Auth(Credentials(key, secret or KEYS.get(key, "x")), service, region)
    with _clock_at(at):
        auth.add_auth(request)
    return request


def _clock_at(at: float):
    """botocore signs with the current time; pin it so the test controls the date."""
    return mock.patch(
        "botocore.auth.get_current_datetime",
        return_value=datetime.fromtimestamp(at, UTC).replace(tzinfo=None),
    )


def verify(request: AWSRequest, *, service="kinesis", region="us-east-1", now=NOW, headers=None):
    parts = urlsplit(request.url)
    sent = dict(headers if headers is not None else request.headers.items())
    sent.setdefault("Host", parts.netloc)
    verify_sigv4(
        request.method,
        parts.path,
        parts.query,
        sent,
        request.body or b"",
        secret_for=KEYS.get,
        service=service,
        region=region,
        now=now,
    )


def refused(request: AWSRequest, **kwargs) -> SigV4Error:
    with pytest.raises(SigV4Error) as caught:
        verify(request, **kwargs)
    assert caught.value.reason in REASONS
    return caught.value


def test_a_request_signed_by_botocore_is_accepted():
    verify(signed())
    verify(signed(key="AKIDEXAMPLE"))


def test_dynamodb_and_other_paths_and_queries_verify():
    verify(signed(service="dynamodb"), service="dynamodb")
    verify(signed(url="http://127.0.0.1:4566/a%20b/c?b=2&a=1&x=%2F"))


def test_no_authorization_is_missing_authentication_token():
    request = signed()
    del request.headers["Authorization"]
    error = refused(request)
    assert (error.reason, error.message) == ("missing", "Missing Authentication Token")


def test_authorization_without_signature_is_incomplete_naming_the_part():
    request = signed()
    header = request.headers["Authorization"]
    request.headers.replace_header("Authorization", header.split(", Signature=")[0])
    error = refused(request)
    assert error.reason == "incomplete"
    assert error.message.startswith("Authorization header requires 'Signature' parameter. ")


def test_authorization_without_a_date_header_is_incomplete():
    request = signed()
    del request.headers["X-Amz-Date"]
    error = refused(request)
    assert error.reason == "incomplete"
    assert "requires existence of either a 'X-Amz-Date' or a 'Date' header" in error.message


def test_a_wrong_secret_is_a_bad_signature():
    error = refused(signed(secret="not-the-secret"))
    assert error.reason == "bad_signature"
    assert error.message.startswith("The request signature we calculated does not match")


def test_a_changed_body_is_a_bad_signature():
    request = signed()
    request.data = BODY.replace(b"events", b"others")
    assert refused(request).reason == "bad_signature"


def test_an_unknown_access_key_is_refused_as_an_invalid_token():
    error = refused(signed(key="AKIDUNKNOWN", secret="whatever"))
    assert error.reason == "unknown_key"
    assert error.message == "The security token included in the request is invalid."


@pytest.mark.parametrize(
    ("sign_as", "expected"),
    [
        ({"region": "eu-west-1"}, "Credential should be scoped to a valid region, not 'eu-west-1'"),
        ({"service": "dynamodb"}, "Credential should be scoped to correct service: 'kinesis'"),
    ],
)
def test_a_scope_for_another_region_or_service_is_refused(sign_as, expected):
    error = refused(signed(**sign_as))
    assert error.reason == "wrong_scope"
    assert expected in error.message


def test_kinesis_refuses_a_date_more_than_5_minutes_old_with_aws_wording():
    error = refused(signed(at=NOW - 301))
    assert error.reason == "expired"
    assert error.message == (
        "Signature expired: 20261201T115459Z is now earlier than 20261201T115500Z "
        "(20261201T120000Z - 5 min.)"
    )
    verify(signed(at=NOW - 299))


def test_a_date_in_the_future_is_not_yet_current():
    error = refused(signed(at=NOW + 301))
    assert error.reason == "expired"
    assert error.message.startswith("Signature not yet current: 20261201T120501Z is still later")


def test_dynamodb_allows_15_minutes_of_skew():
    verify(signed(service="dynamodb", at=NOW - 600), service="dynamodb")
    error = refused(signed(service="dynamodb", at=NOW - 901), service="dynamodb")
    assert error.message.endswith("(20261201T120000Z - 15 min.)")


def test_both_header_and_query_signature_is_refused():
    request = signed(url="http://127.0.0.1:4566/?X-Amz-Algorithm=AWS4-HMAC-SHA256")
    error = refused(request)
    assert error.reason == "bad_signature"
    assert "Found both 'X-Amz-Algorithm'" in error.message


def presigned(*, expires: int = 300, at: float = NOW, secret: str = "test") -> AWSRequest:
    request = AWSRequest(method="GET", url="http://127.0.0.1:4566/?Action=ListQueues")
    auth = SigV4QueryAuth(Credentials("test", secret), "sqs", "us-east-1", expires=expires)
    with _clock_at(at):
        auth.add_auth(request)
    return request


def test_a_presigned_query_string_is_accepted_until_it_expires():
    request = presigned(expires=300)
    verify(request, service="sqs", headers={"Host": "127.0.0.1:4566"})
    verify(request, service="sqs", headers={"Host": "127.0.0.1:4566"}, now=NOW + 299)
    error = refused(request, service="sqs", headers={"Host": "127.0.0.1:4566"}, now=NOW + 301)
    assert error.reason == "expired"
    assert "(20261201T120501Z - 300 sec.)" in error.message


def test_a_presigned_query_with_a_wrong_secret_is_a_bad_signature():
    request = presigned(secret="wrong")
    error = refused(request, service="sqs", headers={"Host": "127.0.0.1:4566"})
    assert error.reason == "bad_signature"


def test_a_presigned_query_missing_a_part_is_incomplete():
    request = AWSRequest(
        method="GET", url="http://127.0.0.1:4566/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=1"
    )
    error = refused(request, service="sqs", headers={"Host": "127.0.0.1:4566"})
    assert error.reason == "incomplete"
    assert "AWS query-string parameters must include 'X-Amz-Credential'." in error.message
    assert error.message.endswith("Re-examine the query-string parameters.")


def test_unknown_reasons_cannot_be_raised():
    with pytest.raises(ValueError, match="expected one of missing"):
        SigV4Error("nonsense", "x")


def test_dynamodb_says_missing_token_in_its_own_words():
    request = signed(service="dynamodb")
    del request.headers["Authorization"]
    error = refused(request, service="dynamodb")
    assert error.message == "Request is missing Authentication Token"


def test_a_bad_signature_says_what_the_canonical_request_should_have_been():
    error = refused(signed(secret="not-the-secret"))
    assert "\n\nThe Canonical String for this request should have been\n'POST\n/\n" in error.message
    assert "\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20261201T120000Z\n" in (
        error.message
    )


def test_every_wrong_scope_piece_is_named_at_once():
    request = signed()
    header = request.headers["Authorization"]
    request.headers.replace_header(
        "Authorization", header.replace("/us-east-1/kinesis/aws4_request", "/eu-west-1/sqs/aws5")
    )
    error = refused(request)
    assert error.reason == "wrong_scope"
    assert error.message == (
        "Credential should be scoped to a valid region, not 'eu-west-1'. "
        "Credential should be scoped to correct service: 'kinesis'. "
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5'. "
    )


def test_host_must_be_signed():
    request = signed()
    header = request.headers["Authorization"]
    request.headers.replace_header("Authorization", header.replace("host;", ""))
    error = refused(request)
    assert (error.reason, error.message) == (
        "bad_signature",
        "'Host' must be a 'SignedHeader' in the AWS Authorization.",
    )


def test_a_malformed_date_is_incomplete():
    request = signed()
    request.headers.replace_header("X-Amz-Date", "2026-12-01")
    error = refused(request)
    assert error.reason == "incomplete"
    assert error.message.startswith("Date must be in ISO-8601 'basic format'. Got '2026-12-01'.")
