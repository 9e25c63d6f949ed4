"""The deployed handler module, configured only by environment variables, against SSM and
Secrets Manager over HTTP and a real receiver."""

import importlib
import json
import sys

import pytest

from tests.cloudwatch_paging import Boto3Paging

from .conftest import LICENSE_KEY, aws_client

pytestmark = pytest.mark.integration
MODULE = "monitors.forwarder.handler"


def test_scheduled_invocation_posts_to_the_configured_endpoint(
    monkeypatch, aws_endpoint, receiver, lambda_context
):
    secrets = aws_client("secretsmanager", aws_endpoint)
    secrets.create_secret(
        Name="redline/handler-itest/newrelic", SecretString=json.dumps({"LicenseKey": LICENSE_KEY})
    )
    env = {
        "ENVIRONMENT": "handler-itest",
        "STREAM_NAME": "redline-events-handler-itest",
        "TABLE_NAME": "redline-events-handler-itest",
        "API_ID": "itestapi",
        "DLQ_NAME": "redline-dlq-handler-itest",
        "NEW_RELIC_METRIC_API_URL": receiver.url,
        "NEW_RELIC_LICENSE_KEY_SECRET": "redline/handler-itest/newrelic",
        "AWS_ENDPOINT_URL": aws_endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "POWERTOOLS_SERVICE_NAME": "forwarder",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop(MODULE, None)
    try:
        handler = importlib.import_module(MODULE)

        class NoData(Boto3Paging):  # CloudWatch with nothing yet: every minute is an idle minute
            def get_metric_data(self, **request):
                return {"MetricDataResults": []}

        monkeypatch.setattr(handler, "cloudwatch", NoData())
        summary = handler.lambda_handler({"detail-type": "Scheduled Event"}, lambda_context)
        again = handler.lambda_handler({"detail-type": "Scheduled Event"}, lambda_context)
    finally:
        sys.modules.pop(MODULE, None)
    assert summary["minutes_delivered"] == 5 and summary["posts"] == 1
    assert again["minutes_planned"] in (0, 1)  # only a minute that ended in between
    first = receiver.requests[0]
    assert first.status == 202 and first.headers["Api-Key"] == LICENSE_KEY
    idle = [
        p
        for element in first.body
        for p in element["metrics"]
        if p["name"] == "pipeline.idle_minutes"
    ]
    assert len(idle) == 5 * 3
    queue = [
        p for element in first.body for p in element["metrics"] if p["attributes"].get("queue")
    ]
    assert queue == []  # CloudWatch had no datapoint: absent, not sent as a count of 0
    parameter = aws_client("ssm", aws_endpoint).get_parameter(
        Name="/redline/handler-itest/forwarder/checkpoint"
    )
    assert json.loads(parameter["Parameter"]["Value"])["points_sent"] == 0
