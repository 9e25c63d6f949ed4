"""Lambda's payload limits in the local runtime: what AWS refuses, the runtime refuses, and
the caller sees AWS's answer (413 on the Invoke API, a failed invocation, API Gateway's 500)."""

from __future__ import annotations

import http.client
import json

import pytest

from pipeline import aws_limits as L
from tests.integration.runtime.conftest import environment, running_runtime
from tests.integration.runtime.test_http_and_invoke_api import SAMPLE_HANDLERS, _lambda_client

pytestmark = pytest.mark.integration


def test_invoke_requests_and_responses_over_the_limits_fail_like_lambda(gateway, tmp_path):
    config = environment(tmp_path)
    handlers = {"api": f"{SAMPLE_HANDLERS}.big_response", "ingest": f"{SAMPLE_HANDLERS}.echo"}
    with running_runtime(gateway, config, tmp_path, handlers=handlers) as runtime:
        client = _lambda_client(runtime)
        api = runtime.function("api").spec.name
        echo = runtime.function("ingest").spec.name

        too_big = json.dumps({"pad": "x" * L.LAMBDA_MAX_PAYLOAD_BYTES}).encode()
        with pytest.raises(client.exceptions.RequestTooLargeException) as sync_refused:
            client.invoke(FunctionName=echo, Payload=too_big)
        assert f"smaller than {L.LAMBDA_MAX_PAYLOAD_BYTES} bytes" in str(sync_refused.value)

        async_big = json.dumps({"pad": "x" * L.LAMBDA_MAX_ASYNC_PAYLOAD_BYTES}).encode()
        with pytest.raises(client.exceptions.RequestTooLargeException) as async_refused:
            client.invoke(FunctionName=echo, InvocationType="Event", Payload=async_big)
        assert f"smaller than {L.LAMBDA_MAX_ASYNC_PAYLOAD_BYTES} bytes" in str(async_refused.value)

        errors_before = runtime.function("api").stats.errors
        over = client.invoke(
            FunctionName=api, Payload=json.dumps({"bytes": L.LAMBDA_MAX_PAYLOAD_BYTES})
        )
        error = json.loads(over["Payload"].read())
        assert over["FunctionError"] == "Unhandled"
        assert error["errorType"] == "Function.ResponseSizeTooLarge"
        assert runtime.function("api").stats.errors == errors_before + 1

        under = client.invoke(FunctionName=api, Payload=json.dumps({"bytes": 5 * L.MIB}))
        assert "FunctionError" not in under
        assert len(json.loads(under["Payload"].read())["body"]) == 5 * L.MIB

        connection = http.client.HTTPConnection("127.0.0.1", runtime.options.api_port, timeout=60)
        connection.request("GET", f"/events?bytes={L.LAMBDA_MAX_PAYLOAD_BYTES}")
        response = connection.getresponse()
        assert response.status == 500
        assert json.loads(response.read()) == {"message": "Internal Server Error"}
        connection.close()
