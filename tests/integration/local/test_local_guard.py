"""The gateway answers only its own user's clients: Host, Origin, control token, moto allowlist,
body size. Each refusal is checked through the real gateway, and that nothing changed."""

from __future__ import annotations

import json

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from pipeline.local.aws import start_gateway
from pipeline.local.aws.server import KINESIS_MAX_BODY_BYTES, OTHER_MAX_BODY_BYTES
from pipeline.local.guard import TOKEN_HEADER
from tests.integration.local.conftest import client_for, unique
from tests.integration.rawhttp import raw_request

KINESIS_JSON = "application/x-amz-json-1.1"


def raw(gateway, method, path, headers=None, body=b"", host=None):
    """(status, parsed JSON body) of one request with exactly these headers."""
    status, _, data = raw_request(gateway.port, method, path, headers, body, host)
    return status, json.loads(data) if data else None


def signed(headers, body, host, service="kinesis"):
    """`headers` plus a valid SigV4 signature over them and `host` (the stack's credentials):
    the gateway checks signatures first, so only the guard can refuse these."""
    request = AWSRequest(method="POST", url="http://127.0.0.1/", data=body, headers=headers)
    request.headers["host"] = host
    SigV4Auth(Credentials("test", "test"), service, "us-east-1").add_auth(request)
    return {name: value for name, value in request.headers.items() if name.lower() != "host"}


def list_streams(gateway, **kwargs):
    host = kwargs.pop("host", None)
    headers = {"X-Amz-Target": "Kinesis_20131202.ListStreams", "Content-Type": KINESIS_JSON}
    headers |= kwargs.pop("headers", {})
    if host and host.strip():
        headers = signed(headers, b"{}", host)
    elif host is None:
        headers = signed(headers, b"{}", f"127.0.0.1:{gateway.port}")
    return raw(gateway, "POST", "/", headers, b"{}", host=host, **kwargs)


@pytest.fixture(scope="module")
def unsigned_gateway(tmp_path_factory):
    """A gateway with signature checks off (REDLINE_AWS_AUTH=off): the stack's credentials are
    public (test/test), so against the moto allowlist a signed request is no harder to send;
    here the allowlist alone must refuse (signature checks: test_gateway_auth.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDLINE_AWS_AUTH", "off")
        handle = start_gateway(
            port=0, limits=True, burst_seconds=5, state_dir=tmp_path_factory.mktemp("unsigned")
        )
    yield handle
    handle.stop()


@pytest.fixture
def stream(gateway):
    """A stream that must still exist after each refused request (reset would drop it)."""
    name = unique("guard")
    kinesis = client_for(gateway, "kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    yield name
    kinesis.delete_stream(StreamName=name)


def stream_names(gateway):
    return client_for(gateway, "kinesis").list_streams()["StreamNames"]


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:{port}", "127.0.0.1:1", "localhost", "", "10.0.0.1:{port}"],
)
def test_a_foreign_host_is_refused(gateway, stream, host):
    host = host.format(port=gateway.port)
    status, body = raw(
        gateway, "POST", "/_redline/reset", {TOKEN_HEADER: gateway.token}, host=host or " "
    )
    assert status == 403
    assert body["__type"] == "AccessDeniedException"
    assert "is not this local endpoint" in body["message"]
    status, body = list_streams(gateway, host=host or " ")
    assert status == 403
    assert stream in stream_names(gateway)


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}"])
def test_loopback_names_with_the_right_port_are_served(gateway, stream, host):
    status, body = list_streams(gateway, host=host.format(port=gateway.port))
    assert status == 200 and stream in body["StreamNames"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://localhost:3000", "Sec-Fetch-Site": "same-site"},
    ],
)
def test_a_cross_origin_browser_request_is_refused(gateway, stream, headers):
    status, body = raw(gateway, "POST", "/_redline/reset", {TOKEN_HEADER: gateway.token} | headers)
    assert status == 403 and "cross-origin" in body["message"]
    status, body = raw(
        gateway,
        "POST",
        "/",
        {"X-Amz-Target": "Kinesis_20131202.DeleteStream", "Content-Type": KINESIS_JSON} | headers,
        json.dumps({"StreamName": stream}).encode(),
    )
    assert status == 403 and "REDLINE_ALLOWED_ORIGINS" in body["message"]
    assert stream in stream_names(gateway)


def test_the_gateways_own_origin_is_not_cross_origin(gateway, stream):
    status, _ = list_streams(gateway, headers={"Origin": f"http://127.0.0.1:{gateway.port}"})
    assert status == 200


@pytest.mark.parametrize(
    "target",
    [
        "AmazonSQS.ListQueues",
        "secretsmanager.GetSecretValue",
        "AmazonSSM.GetParameter",
        "AmazonSQS.NotAnOperation",
        None,  # signed for sqs, no target: SQS's query protocol
    ],
)
@pytest.mark.parametrize(
    "path",
    [
        "/moto-api/data.json",
        "/moto-api/reset",
        "/moto-api/recorder/upload-recording",
        "/moto-api/recorder/replay-recording",
        "//moto-api/data.json",
        "/%6Doto-api/data.json",
    ],
)
def test_moto_api_is_unreachable_under_any_service_header(unsigned_gateway, target, path):
    gateway = unsigned_gateway
    secrets = client_for(gateway, "secretsmanager")
    name = unique("guard-secret")
    secrets.create_secret(Name=name, SecretString="the-secret-value")
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20261201/us-east-1/sqs/aws4_request, "
        "SignedHeaders=host, Signature=00",
    }
    if target:
        headers["X-Amz-Target"] = target
    status, body = raw(gateway, "POST", path, headers, b"{}")
    assert status == 400
    assert body["__type"] == "UnknownOperationException"
    assert "the-secret-value" not in json.dumps(body)
    # moto's reset did not run: the secret is still there.
    assert secrets.get_secret_value(SecretId=name)["SecretString"] == "the-secret-value"


def test_sqs_secrets_and_ssm_still_work_through_the_allowlist(gateway):
    sqs = client_for(gateway, "sqs")
    url = sqs.create_queue(QueueName=unique("guard-q"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "hello"
    ssm = client_for(gateway, "ssm")
    name = f"/{unique('guard')}"
    ssm.put_parameter(Name=name, Value="v", Type="String")
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "v"


@pytest.mark.parametrize(("token", "status"), [(None, 401), ("not-the-token", 403)])
@pytest.mark.parametrize(
    ("method", "route"),
    [("POST", "/_redline/reset"), ("GET", "/_redline/config"), ("POST", "/_redline/metrics")],
)
def test_a_control_route_needs_the_stacks_token(gateway, stream, token, status, method, route):
    headers = {TOKEN_HEADER: token} if token else {}
    answered, body = raw(gateway, method, route, headers, b"{}" if method == "POST" else b"")
    assert answered == status
    assert TOKEN_HEADER in body["message"]
    assert "engines" not in body  # the config was not shown
    assert stream in stream_names(gateway)  # reset did not run


def test_the_token_opens_the_control_routes(gateway):
    status, body = raw(gateway, "GET", "/_redline/config", {TOKEN_HEADER: gateway.token})
    assert status == 200 and "engines" in body


def test_a_body_over_the_apis_maximum_is_refused_before_it_is_read(gateway, stream):
    # Only the headers are sent: the gateway must answer without waiting for the body.
    status, body = raw(
        gateway,
        "POST",
        "/",
        {
            "X-Amz-Target": "Kinesis_20131202.DeleteStream",
            "Content-Type": KINESIS_JSON,
            "Content-Length": str(KINESIS_MAX_BODY_BYTES + 1),
        },
    )
    assert status == 413
    assert f"maximum of {KINESIS_MAX_BODY_BYTES} bytes" in body["message"]
    assert stream in stream_names(gateway)


def test_an_oversized_cloudwatch_or_control_body_is_refused(gateway):
    big = json.dumps(
        {"Namespace": "Redline/Guard", "MetricData": [], "pad": "x" * OTHER_MAX_BODY_BYTES}
    )
    status, body = raw(
        gateway,
        "POST",
        "/_redline/metrics",
        {TOKEN_HEADER: gateway.token, "Content-Type": "application/json"},
        big.encode(),
    )
    assert status == 413 and "maximum" in body["message"]


def test_the_gateways_temporary_directory_is_removed_on_stop():
    handle = start_gateway(port=0)  # no state dir given: a temporary one
    try:
        assert handle.state_dir.is_dir() and handle.log_path.exists()
        assert handle.control("GET", "health")[0] == 200  # the handle carries the token
    finally:
        handle.stop()
    assert not handle.state_dir.exists()
