"""The forwarder reading the local gateway's CloudWatch (PutMetricData in, GetMetricData with
percentiles out) and SSM over HTTP, writing what it would send to the payloads file."""

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitors.forwarder.forward import forward_once
from monitors.forwarder.newrelic import PayloadFileSink
from monitors.forwarder.settings import load_settings
from pipeline.local.aws import start_gateway

from .conftest import aws_client

pytestmark = pytest.mark.integration
MINUTES = 6


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    handle = start_gateway(port=0, limits=False, state_dir=tmp_path_factory.mktemp("gateway"))
    yield handle
    handle.stop()


def _put(cloudwatch, namespace, name, dimensions, at, values):
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                "Timestamp": datetime.fromtimestamp(at, UTC),
                "Values": [float(v) for v in values],
                "Counts": [1.0] * len(values),
            }
        ],
    )


def test_one_entry_per_minute_with_percentiles_and_rates_that_match(gateway, tmp_path):
    env = "gwtest"
    settings = load_settings(
        {
            "ENVIRONMENT": env,
            "STREAM_NAME": "redline-events-gwtest",
            "TABLE_NAME": "redline-events-gwtest",
            "API_ID": "gwapi",
            "NEW_RELIC_PAYLOADS_FILE": str(tmp_path / "newrelic-payloads.jsonl"),
            "FORWARDER_SETTLE_SECONDS": "0",
            "FORWARDER_FIRST_RUN_MINUTES": str(MINUTES),
        }
    )
    cloudwatch = aws_client("cloudwatch", gateway.endpoint_url)
    now = time.time()
    first_minute = int(now) // 60 * 60 - MINUTES * 60
    ingest = {"service": "ingest", "environment": env}
    for index in range(MINUTES):
        at = first_minute + 60 * index + 30
        latencies = [index * 10 + v for v in range(1, 101)]  # p50 = 50 + 10i, p95 = 95 + 10i
        _put(cloudwatch, "Redline", "EndToEndLatency", ingest, at, latencies)
        _put(cloudwatch, "Redline", "RecordsStored", ingest, at, [100 - index])
        if index:
            _put(cloudwatch, "Redline", "RecordsDeadLettered", ingest, at, [index])

    sink = PayloadFileSink(settings.payloads_file)
    result = forward_once(
        settings,
        cloudwatch,
        aws_client("ssm", gateway.endpoint_url),
        sink,
        now=now,
        deadline=time.monotonic() + 50,
    )
    assert result.minutes_delivered == MINUTES and result.get_metric_data_calls == 1

    (line,) = Path(settings.payloads_file).read_text().splitlines()
    body = json.loads(line)
    assert [e["common"]["timestamp"] // 1000 for e in body] == [
        first_minute + 60 * i for i in range(MINUTES)
    ]
    for index, element in enumerate(body):
        points = {
            (p["name"], p["attributes"].get("component")): p["value"] for p in element["metrics"]
        }
        assert points[("pipeline.e2e.latency.p50", "end_to_end")] == pytest.approx(
            50 + 10 * index, abs=1
        )
        assert points[("pipeline.e2e.latency.p95", "end_to_end")] == pytest.approx(
            95 + 10 * index, abs=1
        )
        assert points[("pipeline.e2e.latency.p99", "end_to_end")] == pytest.approx(
            99 + 10 * index, abs=1
        )
        summary = points[("pipeline.e2e.latency", "end_to_end")]
        assert summary["count"] == 100 and summary["min"] == 1 + 10 * index
        handled = 100 - index + index
        assert points[("pipeline.ingest.error_rate", "ingest")] == pytest.approx(
            100 * index / handled, abs=0.01
        )
        assert points[("pipeline.ingest.success_rate", "ingest")] == pytest.approx(
            100 * (100 - index) / handled, abs=0.01
        )
        # the gateway records AWS/* itself (PutMetricData refuses AWS/ namespaces, as AWS
        # does); no stream traffic and no API traffic here: idle minutes, not 0% or 100%
        assert points[("pipeline.idle_minutes", "end_to_end")] == 1
        # no API traffic in this run: an idle minute, not a 0% or 100% rate
        assert ("pipeline.api.success_rate", "api") not in points
        assert points[("pipeline.idle_minutes", "api")] == 1
