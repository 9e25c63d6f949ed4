"""A real Metric API receiver on a free 127.0.0.1 port, SSM and Secrets Manager over real HTTP
(moto's server on a free port), and the forwarder wired as the handler wires it, with a
simulated clock so waits are counted, not slept."""

from __future__ import annotations

import gzip
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
import urllib3
from aws_lambda_powertools import Logger
from moto.server import ThreadedMotoServer

from monitors.forwarder.forward import forward_once
from monitors.forwarder.newrelic import DeliveryStats, LicenseKeySource, MetricApiClient
from monitors.forwarder.settings import load_settings
from tests.unit.monitors.fake_cloudwatch import FakeCloudWatch

LICENSE_KEY = "NRAK-integration-secret-0123456789"
START = 1_790_000_040  # a minute start
INGEST = {"service": "ingest", "environment": "itest"}


@dataclass
class Received:
    headers: dict[str, str]
    raw: bytes
    body: list | None
    status: int

    def points(self) -> list[tuple[int, str, str]]:
        return [
            (element["common"]["timestamp"], p["name"], json.dumps(p["attributes"], sort_keys=True))
            for element in self.body or []
            for p in element["metrics"]
        ]


Policy = Callable[["Received"], tuple[int, dict[str, str], bytes]]


@dataclass
class Receiver:
    url: str
    policy: Policy
    requests: list[Received] = field(default_factory=list)

    def accepted(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]


def accept_all(_: Received) -> tuple[int, dict[str, str], bytes]:
    return 202, {}, b'{"requestId": "ok"}'


@pytest.fixture
def receiver():
    state = Receiver(url="", policy=accept_all)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                body = json.loads(gzip.decompress(raw))
            except (OSError, ValueError):
                body = None
            request = Received(dict(self.headers.items()), raw, body, 0)
            with lock:
                status, headers, payload = state.policy(request)
                request.status = status
                state.requests.append(request)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/metric/v1"
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def aws_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def aws_client(service: str, endpoint: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


class SimClock:
    """Monotonic time that only sleep() moves; sleeps are recorded."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Forwarder:
    settings: object
    cloudwatch: FakeCloudWatch
    ssm: object
    license_key: LicenseKeySource
    clock: SimClock
    pool: urllib3.PoolManager
    stats: list[DeliveryStats] = field(default_factory=list)

    def run(self, now: float, budget_s: float = 50.0):
        """One scheduled invocation at wall time `now` with `budget_s` of run time."""
        stats = DeliveryStats()
        self.stats.append(stats)
        client = MetricApiClient(
            self.settings.metric_api_url,
            self.license_key,
            pool=self.pool,
            clock=self.clock,
            sleep=self.clock.sleep,
            stats=stats,
        )
        deadline = self.clock() + budget_s
        return forward_once(self.settings, self.cloudwatch, self.ssm, client, now, deadline)

    def checkpoint(self) -> str:
        return self.ssm.get_parameter(Name=self.settings.checkpoint_parameter)["Parameter"]["Value"]


@pytest.fixture
def make_forwarder(aws_endpoint, receiver):
    Logger()  # the parent of the forwarder's module loggers

    def make(secret_value: str | None = json.dumps({"LicenseKey": LICENSE_KEY}), **env):
        environment = f"itest{uuid.uuid4().hex[:8]}"
        secret_name = f"redline/{environment}/newrelic"
        secrets = aws_client("secretsmanager", aws_endpoint)
        if secret_value is not None:
            secrets.create_secret(Name=secret_name, SecretString=secret_value)
        settings = load_settings(
            {
                "ENVIRONMENT": environment,
                "STREAM_NAME": "redline-events-itest",
                "TABLE_NAME": "redline-events-itest",
                "API_ID": "itestapi",
                "NEW_RELIC_METRIC_API_URL": receiver.url,
                "NEW_RELIC_LICENSE_KEY_SECRET": secret_name,
                "FORWARDER_SETTLE_SECONDS": "0",
                **env,
            }
        )
        cloudwatch = FakeCloudWatch()
        dims = {"service": "ingest", "environment": environment}
        for minute in range(-10, 40):
            at = START + 60 * minute + 5
            cloudwatch.put("Redline", "RecordsStored", dims, at, 100 + minute)
            cloudwatch.put("Redline", "EndToEndLatency", dims, at, 40, 60, 80, 900)
            cloudwatch.put(
                "AWS/Kinesis",
                "IncomingRecords",
                {"StreamName": "redline-events-itest"},
                at,
                100 + minute,
            )
        return Forwarder(
            settings=settings,
            cloudwatch=cloudwatch,
            ssm=aws_client("ssm", aws_endpoint),
            license_key=LicenseKeySource(secret_name=secret_name, secrets_client=secrets),
            clock=SimClock(),
            pool=urllib3.PoolManager(retries=False),
        )

    return make
