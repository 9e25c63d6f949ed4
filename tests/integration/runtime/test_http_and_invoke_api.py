"""The HTTP API adapter and the Lambda Invoke API over real HTTP, against the real gateway."""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time

import boto3
import pytest
from botocore.config import Config

from tests.integration.runtime.conftest import (
    FAULT_HANDLERS,
    client,
    environment,
    metric_sum,
    running_runtime,
)

pytestmark = pytest.mark.integration

SAMPLE_HANDLERS = "tests.unit.local.runtime.sample_handlers"


def _lambda_client(runtime):
    return boto3.client(
        "lambda",
        endpoint_url=f"http://127.0.0.1:{runtime.options.lambda_port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}),
    )


def test_http_api_routes_throttles_and_keeps_connections_alive(gateway, tmp_path):
    config = environment(
        tmp_path, {"api": {"throttling_rate_limit": 0.01, "throttling_burst_limit": 3}}
    )
    started = time.time()
    with running_runtime(
        gateway, config, tmp_path, handlers={"api": f"{FAULT_HANDLERS}.api_handler"}
    ) as runtime:
        connection = http.client.HTTPConnection("127.0.0.1", runtime.options.api_port, timeout=30)
        answers = []
        for path in [
            "/health",
            "/events?type=a&type=b",
            "/events/missing",
            "/nope",
            "/health",
            "/health",
            "/health",
        ]:
            connection.request("GET", path)
            response = connection.getresponse()
            answers.append(
                (
                    response.status,
                    json.loads(response.read()),
                    response.getheader("apigw-requestid"),
                )
            )
        sockname = connection.sock.getsockname()
        connection.request("GET", "/health")
        response = connection.getresponse()
        response.read()
        assert connection.sock.getsockname() == sockname  # one keep-alive connection
        connection.close()
    assert answers[0][:2] == (200, {"status": "ok"})
    # The no-statusCode shorthand: the handler's JSON value is a 200 body.
    assert answers[1][:2] == (200, {"route": "GET /events", "query": {"type": "a,b"}})
    assert answers[2][:2] == (404, {"message": "missing not found"})
    assert answers[3][:2] == (404, {"message": "Not Found"})  # API Gateway's own 404
    # A burst of 3 per route (and almost no refill): the 4th /health is throttled.
    assert [a[0] for a in answers[4:]] == [200, 200, 429]
    assert answers[6][1] == {"message": "Too Many Requests"}
    assert all(a[2] for a in answers)
    cloudwatch = client(gateway, "cloudwatch")
    dims = {"ApiId": runtime.api_id}
    assert metric_sum(cloudwatch, "AWS/ApiGateway", "Count", dims, started) == 8
    assert metric_sum(cloudwatch, "AWS/ApiGateway", "4xx", dims, started) == 4


def test_lambda_invoke_api_answers_like_lambda(gateway, tmp_path):
    config = environment(tmp_path, {"ingest": {"reserved_concurrency": 1}})
    with running_runtime(
        gateway,
        config,
        tmp_path,
        handlers={
            "ingest": f"{SAMPLE_HANDLERS}.sleep",
            "api": f"{SAMPLE_HANDLERS}.echo",
            "forwarder": f"{SAMPLE_HANDLERS}.fail",
        },
    ) as runtime:
        client = _lambda_client(runtime)
        names = {kind: runtime.function(kind).spec.name for kind in ("ingest", "api", "forwarder")}
        ok = client.invoke(FunctionName=names["api"], Payload=json.dumps({"x": 1}), LogType="Tail")
        body = json.loads(ok["Payload"].read())
        assert ok["StatusCode"] == 200 and "FunctionError" not in ok
        assert body["event"] == {"x": 1} and body["function_name"] == names["api"]
        assert "REPORT RequestId" in base64.b64decode(ok["LogResult"]).decode()

        failed = client.invoke(FunctionName=names["forwarder"], Payload=json.dumps({"n": 3}))
        assert failed["FunctionError"] == "Unhandled"
        assert json.loads(failed["Payload"].read())["errorMessage"] == "bad event 3"

        with pytest.raises(client.exceptions.ResourceNotFoundException) as missing:
            client.invoke(FunctionName="redline-nope", Payload=b"{}")
        assert (
            "Function not found: arn:aws:lambda:us-east-1:000000000000:function:redline-nope"
            in str(missing.value)
        )

        slow = threading.Thread(
            target=lambda: client.invoke(
                FunctionName=names["ingest"], Payload=json.dumps({"seconds": 3})
            )
        )
        slow.start()
        while runtime.function("ingest").running == 0:
            time.sleep(0.02)
        with pytest.raises(client.exceptions.TooManyRequestsException) as throttled:
            client.invoke(FunctionName=names["ingest"], Payload=json.dumps({"seconds": 0}))
        slow.join()
        assert (
            throttled.value.response["Reason"]
            == "ReservedFunctionConcurrentInvocationLimitExceeded"
        )

        with pytest.raises(client.exceptions.InvalidRequestContentException):
            client.invoke(FunctionName=names["api"], Payload=b"{not json")

        queued = client.invoke(FunctionName=names["api"], InvocationType="Event", Payload=b"{}")
        assert queued["StatusCode"] == 202
        listed = client.list_functions()["Functions"]
        assert sorted(f["FunctionName"] for f in listed) == sorted(names.values())
