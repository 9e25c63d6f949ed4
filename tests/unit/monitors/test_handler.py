import importlib
import json
import sys
import time

import boto3
import pytest
from moto import mock_aws

from monitors.forwarder.newrelic import LicenseKeyError
from monitors.forwarder.settings import SettingsError
from tests.cloudwatch_paging import Boto3Paging

from .conftest import BASE_ENV

MODULE = "monitors.forwarder.handler"


def _import_handler(monkeypatch, env):
    for name in [*BASE_ENV, "NEW_RELIC_LICENSE_KEY", "NEW_RELIC_LICENSE_KEY_SECRET"]:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "forwarder")
    sys.modules.pop(MODULE, None)
    return importlib.import_module(MODULE)


@pytest.fixture(autouse=True)
def _forget_handler():
    yield
    sys.modules.pop(MODULE, None)


@mock_aws
def test_a_scheduled_invocation_writes_the_payloads_file(monkeypatch, tmp_path, lambda_context):
    payloads = tmp_path / "newrelic-payloads.jsonl"
    handler = _import_handler(monkeypatch, {**BASE_ENV, "NEW_RELIC_PAYLOADS_FILE": str(payloads)})
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    cloudwatch.put_metric_data(
        Namespace="Redline",
        MetricData=[
            {
                "MetricName": "RecordsStored",
                "Dimensions": [
                    {"Name": "service", "Value": "ingest"},
                    {"Name": "environment", "Value": "test"},
                ],
                "Value": 12,
                "Timestamp": time.time() - 90,
            }
        ],
    )
    # moto computes no percentiles; the reader skips what it cannot read, so give it only sums
    monkeypatch.setattr(handler, "cloudwatch", _SumsOnly(cloudwatch))
    summary = handler.lambda_handler(
        {"source": "aws.events", "detail-type": "Scheduled Event"}, lambda_context
    )
    assert summary["minutes_delivered"] == summary["minutes_planned"] == 5
    assert summary["posts"] == 1
    (line,) = payloads.read_text().splitlines()
    body = json.loads(line)
    assert len(body) == 5
    names = {p["name"] for element in body for p in element["metrics"]}
    assert "pipeline.ingest.stored" in names
    stored = [
        p["value"]
        for element in body
        for p in element["metrics"]
        if p["name"] == "pipeline.ingest.stored"
    ]
    assert sum(stored) == 12
    checkpoint = boto3.client("ssm", region_name="us-east-1").get_parameter(
        Name="/redline/test/forwarder/checkpoint"
    )["Parameter"]["Value"]
    assert json.loads(checkpoint)["points_sent"] == 0


class _SumsOnly(Boto3Paging):
    def __init__(self, client):
        self.client = client

    def get_metric_data(self, **request):
        queries = [
            q
            for q in request["MetricDataQueries"]
            if q["MetricStat"]["Stat"] in ("Sum", "SampleCount")
        ]
        return self.client.get_metric_data(**{**request, "MetricDataQueries": queries})


def test_cold_start_names_the_missing_variables(monkeypatch):
    with pytest.raises(SettingsError, match="STREAM_NAME, TABLE_NAME"):
        _import_handler(
            monkeypatch, {"ENVIRONMENT": "test", "API_ID": "x", "NEW_RELIC_PAYLOADS_FILE": "p"}
        )


@mock_aws
def test_a_missing_secret_fails_the_invocation_and_sends_nothing(
    monkeypatch, tmp_path, lambda_context
):
    env = {
        **BASE_ENV,
        "NEW_RELIC_LICENSE_KEY_SECRET": "redline/newrelic",
        "NEW_RELIC_PAYLOADS_FILE": str(tmp_path / "p.jsonl"),
    }
    env["NEW_RELIC_METRIC_API_URL"] = "http://127.0.0.1:9/metric/v1"  # never reached
    handler = _import_handler(monkeypatch, env)
    monkeypatch.setattr(handler, "cloudwatch", _Empty())
    with pytest.raises(LicenseKeyError, match="'redline/newrelic' does not exist"):
        handler.lambda_handler({}, lambda_context)
    assert not (tmp_path / "p.jsonl").exists()


class _Empty(Boto3Paging):
    def get_metric_data(self, **request):
        return {"MetricDataResults": []}
