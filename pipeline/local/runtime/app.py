"""The local Lambda runtime: provisioning, functions, the Kinesis mapping, the HTTP API, the
Invoke API and the schedule, wired from one environment file against one AWS endpoint.

Nothing here knows the endpoint is local: it is plain boto3 with an endpoint URL.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from pipeline.config import EnvironmentConfig
from pipeline.local import loopback
from pipeline.local.aws.auth import local_credentials
from pipeline.local.jwt_issuer import LocalIssuer
from pipeline.local.runtime.api import HttpApi, api_id_for, make_api_server
from pipeline.local.runtime.auth import ApiAuthorizer
from pipeline.local.runtime.cloudwatch import MetricsPublisher
from pipeline.local.runtime.esm import EventSourceMapping, MappingSettings
from pipeline.local.runtime.functions import (
    ACCOUNT_ID,
    REGION,
    AccountConcurrency,
    Function,
    FunctionRegistry,
    FunctionSpec,
    Throttled,
)
from pipeline.local.runtime.invoke_api import make_invoke_server
from pipeline.local.runtime.provision import Resources, provision

logger = logging.getLogger(__name__)

INGEST, API, FORWARDER = "ingest", "api", "forwarder"
DEFAULT_HANDLERS = {
    INGEST: "pipeline.ingest.handler.lambda_handler",
    API: "pipeline.api.handler.lambda_handler",
    FORWARDER: "monitors.forwarder.handler.lambda_handler",
}
SCHEDULE_INTERVAL_S = 60.0
FORWARDER_TIMEOUT_S = 60
FORWARDER_MEMORY_MB = 256
# The forwarder's optional settings (monitors/forwarder/settings.py), passed through from the
# user's environment: the New Relic key or its secret, region or URL, and its run window knobs.
FORWARDER_PASSTHROUGH_PREFIXES = ("NEW_RELIC_", "FORWARDER_", "FORWARD_AWS_METRICS")
LOCAL_CREDENTIALS = local_credentials()  # the stack's (REDLINE_AWS_ACCESS_KEY_ID/SECRET)


def function_name(kind: str, environment: str) -> str:
    return f"redline-{kind}-{environment}"


@dataclass
class RuntimeOptions:
    config: EnvironmentConfig
    aws_endpoint_url: str
    api_port: int = 8080
    lambda_port: int = 4567
    state_dir: Path = Path(".redline")
    log_dir: Path | None = None  # function logs; default <state_dir>/logs/functions
    handlers: dict[str, str] = field(default_factory=dict)  # kind -> module.function override
    function_environment: dict[str, str] = field(default_factory=dict)  # extra env for all
    mapping_overrides: dict[str, Any] = field(default_factory=dict)  # MappingSettings fields
    schedule_interval_s: float = SCHEDULE_INTERVAL_S
    warm_api_environments: int = 4  # capped by the API's reserved concurrency
    # The stack's token for control routes: the gateway's /_redline/metrics and this runtime's
    # own /_redline/health and /_redline/status (default $REDLINE_CONTROL_TOKEN).
    control_token: str | None = field(default_factory=loopback.token_from_env)


@dataclass
class Clients:
    kinesis: Any
    dynamodb: Any
    sqs: Any
    cloudwatch: Any
    autoscaling: Any = None  # application-autoscaling: the table's autoscaling block


def make_clients(endpoint_url: str, pool: int = 50) -> Clients:
    session = boto3.session.Session(
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    )
    # The poller handles throttles itself (and must see them): no silent SDK retries.
    no_retries = Config(
        retries={"total_max_attempts": 1},
        max_pool_connections=pool,
        connect_timeout=5,
        read_timeout=30,
    )
    standard = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=pool)
    return Clients(
        kinesis=session.client("kinesis", endpoint_url=endpoint_url, config=no_retries),
        dynamodb=session.client("dynamodb", endpoint_url=endpoint_url, config=standard),
        sqs=session.client("sqs", endpoint_url=endpoint_url, config=standard),
        cloudwatch=session.client("cloudwatch", endpoint_url=endpoint_url, config=standard),
        autoscaling=session.client(
            "application-autoscaling", endpoint_url=endpoint_url, config=standard
        ),
    )


def aws_metrics_sender(endpoint_url: str, put_metric_data, control_token: str | None = None):
    """PutMetricData for our own namespaces; AWS/* goes to the gateway's control route.

    CloudWatch refuses AWS/* namespaces from clients (only AWS publishes there), so the local
    gateway takes the metrics AWS itself would publish through `POST /_redline/metrics`.
    """
    url = f"{endpoint_url.rstrip('/')}/_redline/metrics"

    def send(Namespace: str, MetricData: list[dict[str, Any]]) -> None:  # boto3's names
        if not Namespace.startswith("AWS/"):
            put_metric_data(Namespace=Namespace, MetricData=MetricData)
            return
        body = json.dumps(
            {
                "Namespace": Namespace,
                "MetricData": [
                    {**datum, "Timestamp": datum["Timestamp"].timestamp()} for datum in MetricData
                ],
            }
        ).encode("utf-8")
        status, reply = loopback.request(
            url,
            "POST",
            body,
            {"Content-Type": "application/json"},
            timeout_s=10,
            token=control_token,
        )
        if status != 200:
            raise RuntimeError(f"POST {url}: HTTP {status} {reply[:200]!r}")

    return send


def scheduled_event(rule_name: str) -> dict[str, Any]:
    """The EventBridge scheduled event a rate(1 minute) rule sends."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{rule_name}"],
        "detail": {},
    }


def handler_override(text: str) -> tuple[str, str]:
    kind, sep, handler = text.partition("=")
    if not sep or kind not in DEFAULT_HANDLERS or "." not in handler:
        raise argparse.ArgumentTypeError(
            f"--handler takes <kind>=<module.function> with kind one of "
            f"{', '.join(DEFAULT_HANDLERS)}, got {text!r}"
        )
    return kind, handler


def handler_importable(handler: str) -> bool:
    module = handler.rpartition(".")[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


class LambdaRuntime:
    """Everything the runtime process runs; `start()` then `stop()`."""

    def __init__(self, options: RuntimeOptions) -> None:
        self.options = options
        self.config = options.config
        self.environment = self.config.environment
        self.api_id = api_id_for(self.environment)
        self.clients = make_clients(options.aws_endpoint_url)
        self.log_dir = Path(options.log_dir or Path(options.state_dir) / "logs" / "functions")
        self.publisher = MetricsPublisher(
            aws_metrics_sender(
                options.aws_endpoint_url,
                self.clients.cloudwatch.put_metric_data,
                options.control_token,
            )
        )
        self.registry = FunctionRegistry()
        self.account = AccountConcurrency()
        self.resources: Resources | None = None
        self.mapping: EventSourceMapping | None = None
        self.api_server = None
        self.invoke_server = None
        self._stop = threading.Event()
        self._scheduler: threading.Thread | None = None
        self.schedule_runs = 0
        self.forwarder_present = False

    # ------------------------------------------------------------------ functions
    def _base_environment(self, service: str) -> dict[str, str]:
        return {
            "ENVIRONMENT": self.environment,
            "POWERTOOLS_SERVICE_NAME": service,
            "POWERTOOLS_METRICS_NAMESPACE": "Redline",
            "AWS_ENDPOINT_URL": self.options.aws_endpoint_url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            **LOCAL_CREDENTIALS,
            **self.options.function_environment,
        }

    def _handler(self, kind: str) -> str:
        return self.options.handlers.get(kind, DEFAULT_HANDLERS[kind])

    def function_specs(self, resources: Resources) -> dict[str, FunctionSpec]:
        config = self.config
        table = {"TABLE_NAME": resources.table_name, "TYPE_INDEX_NAME": resources.type_index_name}
        names = {kind: function_name(kind, self.environment) for kind in DEFAULT_HANDLERS}
        state_dir = Path(self.options.state_dir).resolve()
        forwarder_env = {
            **self._base_environment(FORWARDER),
            **table,
            "STREAM_NAME": resources.stream_name,
            "INGEST_FUNCTION_NAME": names[INGEST],
            "API_FUNCTION_NAME": names[API],
            "FORWARDER_FUNCTION_NAME": names[FORWARDER],
            "API_ID": self.api_id,
            "DLQ_NAME": self.config.queues.dead_letter_name,
            "DLQ_URL": resources.dead_letter_queue_url,
            "ON_FAILURE_QUEUE_URL": resources.on_failure_queue_url,
            "NEW_RELIC_PAYLOADS_FILE": str(state_dir / "newrelic-payloads.jsonl"),
        }
        forwarder_env.update(
            {k: v for k, v in os.environ.items() if k.startswith(FORWARDER_PASSTHROUGH_PREFIXES)}
        )
        return {
            INGEST: FunctionSpec(
                name=names[INGEST],
                handler=self._handler(INGEST),
                environment={
                    **self._base_environment(INGEST),
                    **table,
                    "DLQ_URL": resources.dead_letter_queue_url,
                },
                timeout_s=config.ingest.timeout_seconds,
                memory_mb=config.ingest.memory_mb,
                reserved_concurrency=config.ingest.reserved_concurrency,
            ),
            API: FunctionSpec(
                name=names[API],
                handler=self._handler(API),
                environment={**self._base_environment(API), **table},
                timeout_s=config.api.timeout_seconds,
                memory_mb=config.api.memory_mb,
                reserved_concurrency=config.api.reserved_concurrency,
            ),
            FORWARDER: FunctionSpec(
                name=names[FORWARDER],
                handler=self._handler(FORWARDER),
                environment=forwarder_env,
                timeout_s=FORWARDER_TIMEOUT_S,
                memory_mb=FORWARDER_MEMORY_MB,
                reserved_concurrency=1,
            ),
        }

    def function(self, kind: str) -> Function:
        found = self.registry.get(function_name(kind, self.environment))
        assert found is not None
        return found

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        options = self.options
        self.resources = resources = provision(self.clients, self.config)
        for spec in self.function_specs(resources).values():
            self.registry.add(Function(spec, self.log_dir, self.publisher, self.account))
        self.publisher.start()
        api_config = self.config.api
        issuer = LocalIssuer(api_config.jwt_issuer) if api_config.auth_type == "JWT" else None
        authorizer = ApiAuthorizer(
            api_config.auth_type,
            self.config.aws_region,
            {LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"]: LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]},
            issuer,
            tuple(api_config.jwt_audience),
        )
        self.invoke_server = make_invoke_server(
            self.registry,
            options.lambda_port,
            status=self.status,
            control_token=options.control_token,
            issuer=issuer,
            audiences=tuple(api_config.jwt_audience),
        )
        self.invoke_server.start("lambda-invoke-api")
        api = HttpApi(
            self.function(API),
            self.api_id,
            self.config.api.throttling_rate_limit,
            self.config.api.throttling_burst_limit,
            self.publisher,
            authorizer=authorizer,
        )
        self.api_server = make_api_server(api, options.api_port, options.control_token)
        if options.warm_api_environments:
            self.function(API).warm(options.warm_api_environments)
        self.api_server.start("http-api")
        settings = MappingSettings.from_ingest_config(
            self.config.ingest, resources.on_failure_queue_url
        )
        if options.mapping_overrides:
            settings = MappingSettings(**{**settings.__dict__, **options.mapping_overrides})
        self.mapping = EventSourceMapping(
            self.clients.kinesis,
            self.clients.sqs,
            resources.stream_name,
            self.function(INGEST),
            settings,
            self.publisher,
        )
        self.mapping.start()
        self._scheduler = threading.Thread(target=self._schedule_loop, daemon=True, name="schedule")
        self._scheduler.start()

    def _schedule_loop(self) -> None:
        forwarder = self.function(FORWARDER)
        self.forwarder_present = handler_importable(forwarder.spec.handler)
        if not self.forwarder_present:
            logger.warning(
                "the forwarder (%s) is absent: the schedule has nothing to invoke",
                forwarder.spec.handler,
            )
            return
        rule = f"{forwarder.spec.name}-schedule"
        while not self._stop.wait(self.options.schedule_interval_s):
            try:
                result = forwarder.invoke(scheduled_event(rule))
                self.schedule_runs += 1
                if result.failed:
                    logger.warning(
                        "scheduled forwarder run failed: %s",
                        result.error.get("errorMessage") if result.error else "",
                    )
            except Throttled:
                logger.warning("scheduled forwarder run throttled (the previous one still runs)")

    def stop(self) -> None:
        self._stop.set()
        if self.api_server is not None:
            self.api_server.stop()
        if self.mapping is not None:
            self.mapping.stop()
        if self.invoke_server is not None:
            self.invoke_server.stop()
        self.registry.close()
        self.publisher.stop()

    def status(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "api_id": self.api_id,
            "resources": self.resources.__dict__ if self.resources else None,
            "functions": {
                name: {
                    **function.stats.__dict__,
                    "running": function.running,
                    "log": str(function.log_path),
                }
                for name, function in self.registry.functions.items()
            },
            "event_source_mapping": self.mapping.stats() if self.mapping else {},
            "schedule": {"forwarder_present": self.forwarder_present, "runs": self.schedule_runs},
            "metrics_publish_failures": self.publisher.failures,
            "time": time.time(),
        }


def dumps_status(status: dict[str, Any]) -> str:
    return json.dumps(status, indent=2, default=str)
