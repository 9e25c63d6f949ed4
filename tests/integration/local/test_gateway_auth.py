"""SigV4 on the local AWS endpoint: unsigned, badly signed, expired and mis-scoped calls are
refused as AWS refuses them; the settings for tools that invent keys, or for none at all."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from unittest import mock

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from pipeline.local.aws import GatewayError
from tests.integration.local import cbor_client
from tests.integration.local.conftest import NO_RETRIES, client_for

pytestmark = pytest.mark.integration


def client(gateway, service, *, key="test", secret="test", region="us-east-1", unsigned=False):
    config = NO_RETRIES.merge(Config(signature_version=UNSIGNED)) if unsigned else NO_RETRIES
    return boto3.client(
        service,
        endpoint_url=gateway.endpoint_url,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=config,
    )


def error_of(call) -> dict:
    with pytest.raises(Exception) as caught:
        call()
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return response["Error"]


def test_unsigned_calls_are_refused_with_aws_missing_token(gateway):
    kinesis = error_of(lambda: client(gateway, "kinesis", unsigned=True).list_streams())
    assert kinesis == {
        "Code": "MissingAuthenticationTokenException",
        "Message": "Missing Authentication Token",
    }
    dynamodb = error_of(lambda: client(gateway, "dynamodb", unsigned=True).list_tables())
    assert dynamodb["Code"] == "MissingAuthenticationTokenException"
    assert dynamodb["Message"] == "Request is missing Authentication Token"
    for service, operation in (
        ("sqs", "list_queues"),
        ("cloudwatch", "list_metrics"),
        ("ssm", "describe_parameters"),
    ):
        unsigned = getattr(client(gateway, service, unsigned=True), operation)
        assert error_of(unsigned)["Code"] == "MissingAuthenticationTokenException", service


def test_dynamodb_auth_errors_carry_coral_service_type(gateway):
    raw = urllib.request.Request(  # an unsigned DynamoDB call, as a hand-rolled client sends it
        gateway.endpoint_url + "/",
        data=b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
        },
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(raw, timeout=30)  # nosec B310
    assert caught.value.code == 400
    assert json.loads(caught.value.read()) == {
        "__type": "com.amazon.coral.service#MissingAuthenticationTokenException",
        "message": "Request is missing Authentication Token",
    }


def test_a_wrong_secret_is_an_invalid_signature(gateway):
    error = error_of(lambda: client(gateway, "kinesis", secret="wrong").list_streams())
    assert error["Code"] == "InvalidSignatureException"
    assert error["Message"].startswith(
        "The request signature we calculated does not match the signature you provided."
    )


def test_an_unknown_access_key_is_an_unrecognized_client(gateway):
    error = error_of(lambda: client(gateway, "dynamodb", key="AKIDINVENTED").list_tables())
    assert error == {
        "Code": "UnrecognizedClientException",
        "Message": "The security token included in the request is invalid.",
    }


def test_a_client_configured_for_another_region_is_refused(gateway):
    error = error_of(lambda: client(gateway, "kinesis", region="eu-west-1").list_streams())
    assert error["Code"] == "InvalidSignatureException"
    assert error["Message"] == "Credential should be scoped to a valid region, not 'eu-west-1'. "


def test_a_signature_dated_ten_minutes_ago_has_expired(gateway):
    kinesis = client_for(gateway, "kinesis")
    past = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=10)
    with mock.patch("botocore.auth.get_current_datetime", return_value=past):
        error = error_of(kinesis.list_streams)
    assert error["Code"] == "InvalidSignatureException"
    assert error["Message"].startswith(f"Signature expired: {past:%Y%m%dT%H%M%SZ} is now earlier")
    assert error["Message"].endswith(" - 5 min.)")


def test_cbor_calls_are_checked_and_refused_in_cbor(gateway):
    reply = cbor_client.call(gateway.endpoint_url, "ListStreams", {}, sign=False)
    assert reply.status == 400
    assert reply.content_type == cbor_client.CONTENT_TYPE
    assert reply.data == {
        "__type": "MissingAuthenticationTokenException",
        "message": "Missing Authentication Token",
    }
    bad = cbor_client.call(gateway.endpoint_url, "ListStreams", {}, secret="wrong")
    assert bad.error_type == "InvalidSignatureException"


def test_any_key_mode_lets_invented_keys_in_but_not_unsigned_calls(gateway_factory, monkeypatch):
    monkeypatch.setenv("REDLINE_AWS_AUTH", "any-key")
    gateway = gateway_factory()
    assert (
        "StreamNames" in client(gateway, "kinesis", key="AKIDINVENTED", secret="x").list_streams()
    )
    assert error_of(lambda: client(gateway, "kinesis", unsigned=True).list_streams())["Code"] == (
        "MissingAuthenticationTokenException"
    )
    # The stack's own key still has its signature checked.
    assert error_of(lambda: client(gateway, "kinesis", secret="wrong").list_streams())["Code"] == (
        "InvalidSignatureException"
    )
    config = json.loads(gateway.control("GET", "config")[1])
    assert config["auth"] == {"mode": "any-key", "access_key_id": "test", "region": "us-east-1"}


def test_off_mode_serves_unsigned_calls(gateway_factory, monkeypatch):
    monkeypatch.setenv("REDLINE_AWS_AUTH", "off")
    gateway = gateway_factory()
    assert "StreamNames" in client(gateway, "kinesis", unsigned=True).list_streams()


def test_the_stack_credentials_are_one_setting(gateway_factory, monkeypatch):
    monkeypatch.setenv("REDLINE_AWS_ACCESS_KEY_ID", "AKIDLOCAL")
    monkeypatch.setenv("REDLINE_AWS_SECRET_ACCESS_KEY", "local-secret")
    gateway = gateway_factory()
    assert (
        "TableNames"
        in client(gateway, "dynamodb", key="AKIDLOCAL", secret="local-secret").list_tables()
    )
    assert error_of(lambda: client_for(gateway, "dynamodb").list_tables())["Code"] == (
        "UnrecognizedClientException"
    )
    assert b"local-secret" not in gateway.control("GET", "config")[1]


def test_an_unknown_auth_mode_is_a_one_line_error_naming_the_choices(gateway_factory, monkeypatch):
    monkeypatch.setenv("REDLINE_AWS_AUTH", "strict")
    with pytest.raises(GatewayError) as caught:
        gateway_factory()
    assert "REDLINE_AWS_AUTH='strict'" in str(caught.value)
    assert "expected one of sigv4, any-key, off" in str(caught.value)
