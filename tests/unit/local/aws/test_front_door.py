"""Front-door pieces without a network: the auth and state-duration settings, and the CBOR
translation between the Java SDK's Kinesis protocol and the JSON the engine speaks."""

from __future__ import annotations

import json

import cbor2
import pytest

from pipeline.local.aws import kinesis_cbor, states
from pipeline.local.aws.auth import AuthSettingError, AuthSettings, authenticate
from pipeline.local.aws.engines import EngineError
from pipeline.local.aws.errors import AwsError
from pipeline.local.aws.protocol import Response


def test_auth_defaults_to_sigv4_with_the_stack_credentials():
    settings = AuthSettings.from_env({})
    assert (settings.mode, settings.access_key_id, settings.secret_access_key) == (
        "sigv4",
        "test",
        "test",
    )


def test_an_unknown_auth_mode_names_the_setting_and_the_choices():
    with pytest.raises(AuthSettingError) as caught:
        AuthSettings.from_env({"REDLINE_AWS_AUTH": "strict"})
    assert str(caught.value) == (
        "REDLINE_AWS_AUTH='strict' is not a signature check mode: expected one of "
        "sigv4, any-key, off"
    )


def test_an_empty_secret_is_refused_by_name():
    with pytest.raises(AuthSettingError, match="REDLINE_AWS_SECRET_ACCESS_KEY is empty"):
        AuthSettings.from_env({"REDLINE_AWS_SECRET_ACCESS_KEY": ""})


def test_the_described_settings_never_carry_the_secret():
    settings = AuthSettings.from_env({"REDLINE_AWS_SECRET_ACCESS_KEY": "s3cr3t-value"})
    assert "s3cr3t-value" not in json.dumps(settings.describe())


def test_unsigned_dynamodb_call_is_refused_in_coral_service_terms():
    with pytest.raises(AwsError) as caught:
        authenticate(AuthSettings(), "POST", "/", "", {"Host": "h"}, b"{}", "dynamodb")
    assert (caught.value.code, caught.value.message, caught.value.status) == (
        "MissingAuthenticationTokenException",
        "Request is missing Authentication Token",
        400,
    )


def test_off_mode_checks_nothing():
    authenticate(AuthSettings(mode="off"), "POST", "/", "", {}, b"{}", "kinesis")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("instant", 0.0), ("aws", 10.0), ("2.5", 2.5), (" AWS ", 10.0)],
)
def test_state_durations(value, expected):
    assert states.durations("kinesis", {states.SETTING: value})["create"] == expected


def test_state_durations_become_the_engines_options():
    options = states.engine_options("dynamodb", {states.SETTING: "aws"})
    assert options == {"createTableMs": 5000, "deleteTableMs": 5000, "updateTableMs": 5000}


@pytest.mark.parametrize("value", ["slow", "-1", "601"])
def test_a_bad_state_duration_names_the_setting_and_choices(value):
    with pytest.raises(EngineError, match="expected instant, aws, or a number of seconds"):
        states.durations("kinesis", {states.SETTING: value})


def test_a_java_cbor_put_becomes_the_json_request_kinesis_takes():
    body = cbor2.dumps({"StreamName": "s", "Records": [{"Data": b"\x00\xff", "PartitionKey": "k"}]})
    request, json_body = kinesis_cbor.to_json_request("PutRecords", kinesis_cbor.decode(body))
    assert request == {"StreamName": "s", "Records": [{"Data": "AP8=", "PartitionKey": "k"}]}
    assert json.loads(json_body) == request


def test_java_millisecond_timestamps_are_read_as_milliseconds():
    body = cbor2.dumps({"StreamName": "s", "Timestamp": cbor2.CBORTag(1, 1_796_000_000_123)})
    request, _ = kinesis_cbor.to_json_request("GetShardIterator", kinesis_cbor.decode(body))
    assert request["Timestamp"] == pytest.approx(1_796_000_000.123)
    seconds = cbor2.dumps({"StreamName": "s", "Timestamp": cbor2.CBORTag(1, 1_796_000_000)})
    request, _ = kinesis_cbor.to_json_request("GetShardIterator", kinesis_cbor.decode(seconds))
    assert request["Timestamp"] == 1_796_000_000


def test_a_json_answer_goes_back_with_cbor_types():
    engine = Response(
        200,
        json.dumps(
            {
                "Records": [
                    {
                        "Data": "AP8=",
                        "PartitionKey": "k",
                        "ApproximateArrivalTimestamp": 1_796_000_000.5,
                    }
                ],
                "MillisBehindLatest": 0,
            }
        ).encode(),
        {"Content-Type": "application/x-amz-json-1.1"},
    )
    reply = kinesis_cbor.to_cbor_response("GetRecords", engine)
    assert reply.headers["Content-Type"] == "application/x-amz-cbor-1.1"
    record = kinesis_cbor.decode(reply.body)["Records"][0]
    assert record["Data"] == b"\x00\xff"
    assert isinstance(record["ApproximateArrivalTimestamp"], kinesis_cbor.EpochTag)
    assert record["ApproximateArrivalTimestamp"].value == 1_796_000_000_500


def test_errors_to_cbor_requests_are_cbor_and_keep_the_hint_out_of_the_body():
    reply = kinesis_cbor.error_reply(AwsError("SerializationException", "", hint="not CBOR"))
    assert reply.status == 400
    assert kinesis_cbor.decode(reply.body) == {"__type": "SerializationException"}
    assert reply.headers["x-redline-hint"] == "not CBOR"


def test_undecodable_cbor_is_a_serialization_exception():
    with pytest.raises(AwsError) as caught:
        kinesis_cbor.decode(b"\xa1\x61")  # a map whose first key is cut short
    assert caught.value.code == "SerializationException"
