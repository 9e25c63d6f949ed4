"""bench_forwarder: one forwarder invocation catching up 15 minutes of backlog for the whole
pipeline, against the local gateway (CloudWatch, SSM) and a local Metric API receiver.

Prints GetMetricData calls, POSTs, payload sizes (JSON and gzip) and the invocation time as
a share of the forwarder's 50 s timeout. `python -m bench.bench_forwarder`.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import urllib3
from botocore.config import Config

from monitors.forwarder.checkpoint import Checkpoint, write_checkpoint
from monitors.forwarder.cloudwatch import aws_sources, build_queries, pipeline_sources
from monitors.forwarder.forward import forward_once
from monitors.forwarder.newrelic import DeliveryStats, LicenseKeySource, MetricApiClient
from monitors.forwarder.settings import load_settings
from pipeline import metrics as m
from pipeline.local.aws import start_gateway

BACKLOG_MINUTES = 15
SAMPLES_PER_MINUTE = 2_000  # latency values per minute and metric
FORWARDER_TIMEOUT_S = 50


def _receiver() -> tuple[ThreadingHTTPServer, list[int]]:
    received: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            json.loads(gzip.decompress(raw))
            received.append(len(raw))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received


def _client(service: str, endpoint: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        # the local gateway does not read gzip request bodies (botocore compresses
        # PutMetricData over 10 KB)
        config=Config(disable_request_compression=True),
    )


def _fill(cloudwatch, environment: str, first_minute: int) -> None:
    for index in range(BACKLOG_MINUTES):
        at = datetime.fromtimestamp(first_minute + 60 * index + 30, UTC)
        data = []
        for metric in m.PIPELINE:
            (service,) = metric.tags
            dims = [
                {"Name": "service", "Value": service},
                {"Name": "environment", "Value": environment},
            ]
            if metric.unit == "Milliseconds":
                values = [float(v % 997) for v in range(SAMPLES_PER_MINUTE)]
                datum = {"Values": values, "Counts": [1.0] * len(values)}
            else:
                datum = {"Value": 1000.0 + index}
            data.append({"MetricName": metric.name, "Dimensions": dims, "Timestamp": at, **datum})
        for start in range(0, len(data), 20):
            cloudwatch.put_metric_data(Namespace=m.NAMESPACE, MetricData=data[start : start + 20])


def main() -> None:
    server, received = _receiver()
    gateway = start_gateway(port=0, limits=False)
    try:
        environment = "bench"
        settings = load_settings(
            {
                "ENVIRONMENT": environment,
                "STREAM_NAME": "redline-events-bench",
                "TABLE_NAME": "redline-events-bench",
                "API_ID": "benchapi",
                "DLQ_NAME": "redline-dlq-bench",
                "NEW_RELIC_METRIC_API_URL": f"http://127.0.0.1:{server.server_address[1]}/metric/v1",
                "NEW_RELIC_LICENSE_KEY": "bench-key",
                "FORWARDER_SETTLE_SECONDS": "0",
            }
        )
        cloudwatch, ssm = (_client(s, gateway.endpoint_url) for s in ("cloudwatch", "ssm"))
        now = time.time()
        first_minute = int(now) // 60 * 60 - BACKLOG_MINUTES * 60
        _fill(cloudwatch, environment, first_minute)
        write_checkpoint(ssm, settings.checkpoint_parameter, Checkpoint(first_minute))
        resources = settings.resources
        queries = len(build_queries(pipeline_sources(resources) + aws_sources(resources)))

        stats = DeliveryStats()
        client = MetricApiClient(
            settings.metric_api_url,
            LicenseKeySource(key=settings.license_key),
            pool=urllib3.PoolManager(retries=False),
            stats=stats,
        )
        started = time.perf_counter()
        result = forward_once(
            settings, cloudwatch, ssm, client, now, time.monotonic() + FORWARDER_TIMEOUT_S
        )
        elapsed = time.perf_counter() - started
    finally:
        gateway.stop()
        server.shutdown()
        server.server_close()

    json_bytes, gzip_bytes = sum(stats.body_bytes), sum(stats.sent_bytes)
    print(f"backlog: {BACKLOG_MINUTES} minutes, {queries} CloudWatch queries per minute window")
    print(f"minutes delivered:      {result.minutes_delivered} of {result.minutes_planned}")
    print(f"points delivered:       {result.points_delivered}")
    print(f"GetMetricData calls:    {result.get_metric_data_calls}")
    print(f"POSTs:                  {stats.posts} (receiver saw {len(received)})")
    print(f"payload JSON bytes:     {stats.body_bytes} (limit 1,000,000 each)")
    print(f"payload gzip bytes:     {stats.sent_bytes}")
    print(f"gzip ratio:             {gzip_bytes / json_bytes:.3f} of the JSON")
    print(f"largest POST / limit:   {max(stats.body_bytes) / 1_000_000:.3f}")
    share = elapsed / FORWARDER_TIMEOUT_S
    print(f"invocation time:        {elapsed:.2f} s = {share:.3f} of the timeout")


if __name__ == "__main__":
    main()
