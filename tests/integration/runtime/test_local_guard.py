"""The runtime's servers (HTTP API, Invoke API) answer only their user's own clients, and the
Invoke API never shows a secret from a function's environment."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config

from pipeline import aws_limits
from pipeline.local.guard import TOKEN_HEADER
from tests.integration.rawhttp import raw_request as raw
from tests.integration.runtime.conftest import environment, running_runtime

pytestmark = pytest.mark.integration

LICENSE_KEY = "NRAK-not-a-real-key-0123456789"


@pytest.fixture(scope="module")
def runtime(gateway, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("guard")
    with running_runtime(
        gateway,
        environment(tmp_path),
        tmp_path,
        function_environment={"NEW_RELIC_LICENSE_KEY": LICENSE_KEY},
    ) as runtime:
        yield runtime


def test_get_function_redacts_secrets_from_the_environment(runtime):
    lambda_client = boto3.client(
        "lambda",
        endpoint_url=f"http://127.0.0.1:{runtime.options.lambda_port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}),
    )
    name = f"redline-api-{runtime.environment}"
    variables = lambda_client.get_function(FunctionName=name)["Configuration"]["Environment"][
        "Variables"
    ]
    assert variables["NEW_RELIC_LICENSE_KEY"] == "REDACTED"
    assert variables["AWS_SECRET_ACCESS_KEY"] == "REDACTED"
    assert variables["TABLE_NAME"]  # the rest is shown as it is
    listed = json.dumps(lambda_client.list_functions()["Functions"])
    assert LICENSE_KEY not in listed


@pytest.mark.parametrize("server", ["api_port", "lambda_port"])
def test_a_foreign_host_or_a_cross_origin_request_is_refused(runtime, server):
    port = getattr(runtime.options, server)
    path = "/health" if server == "api_port" else "/2015-03-31/functions/"
    status, _, body = raw(port, "GET", path, host="rebound.evil.example")
    assert status == 403 and "is not this local endpoint" in json.loads(body)["message"]
    status, _, body = raw(port, "GET", path, {"Origin": "http://evil.example"})
    assert status == 403 and "cross-origin" in json.loads(body)["message"]
    status, _, _ = raw(port, "GET", path, host=f"localhost:{port}")
    assert status == 200


def test_the_runtimes_control_routes_need_the_token(runtime):
    port = runtime.options.lambda_port
    status, _, body = raw(port, "GET", "/_redline/status")
    assert status == 401 and TOKEN_HEADER in json.loads(body)["message"]
    status, _, _ = raw(port, "GET", "/_redline/status", {TOKEN_HEADER: "wrong"})
    assert status == 403
    status, _, body = raw(
        port, "GET", "/_redline/status", {TOKEN_HEADER: runtime.options.control_token}
    )
    assert status == 200 and json.loads(body)["environment"] == runtime.environment


def test_an_invoke_over_lambdas_payload_maximum_is_refused(runtime):
    name = f"redline-api-{runtime.environment}"
    before = runtime.function("api").stats.invocations
    status, headers, _ = raw(
        runtime.options.lambda_port,
        "POST",
        f"/2015-03-31/functions/{name}/invocations",
        {"Content-Length": str(aws_limits.LAMBDA_MAX_PAYLOAD_BYTES + 1)},
    )
    assert status == 413
    assert headers["x-amzn-ErrorType"] == "RequestTooLargeException"  # botocore's Lambda model
    status, headers, _ = raw(
        runtime.options.lambda_port,
        "POST",
        f"/2015-03-31/functions/{name}/invocations",
        {
            "X-Amz-Invocation-Type": "Event",
            "Content-Length": str(aws_limits.LAMBDA_MAX_ASYNC_PAYLOAD_BYTES + 1),
        },
    )
    assert status == 413
    assert runtime.function("api").stats.invocations == before


def test_an_api_request_over_api_gateways_payload_maximum_is_refused(runtime):
    status, _, body = raw(
        runtime.options.api_port,
        "POST",
        "/health",
        {"Content-Length": str(aws_limits.APIGW_MAX_PAYLOAD_BYTES + 1)},
    )
    assert status == 413 and "maximum" in json.loads(body)["message"]
