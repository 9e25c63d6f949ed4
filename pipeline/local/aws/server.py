"""The gateway: one HTTP/1.1 server on 127.0.0.1 that routes each AWS call to its engine (and
speaks HTTP/2 with prior knowledge on the same port: pipeline/local/aws/http2.py).

Routing: `X-Amz-Target` prefix (Kinesis_20131202 -> kinesalite, DynamoDB_20120810 -> dynalite,
AmazonSQS / secretsmanager / AmazonSSM -> moto in-process, GraniteServiceVersion20100801 ->
the gateway's CloudWatch store) and, for CloudWatch's smithy-rpc-v2-cbor protocol, the path
`/service/GraniteServiceVersion20100801/operation/<Op>`. Control routes live under `/_redline/`.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cbor2

from pipeline import aws_limits
from pipeline.local.aws import auth as aws_auth
from pipeline.local.aws import engines as engine_procs
from pipeline.local.aws import http2, kinesis_cbor, passthrough, states
from pipeline.local.aws.autoscaling import CONTENT_TYPE as AUTOSCALING_CONTENT_TYPE
from pipeline.local.aws.autoscaling import TARGET_PREFIX as AUTOSCALING_PREFIX
from pipeline.local.aws.autoscaling import AutoScaling
from pipeline.local.aws.cloudwatch import MetricStore
from pipeline.local.aws.dynamodb import DynamoFront
from pipeline.local.aws.errors import AwsError, EngineUnavailable
from pipeline.local.aws.faults import UnavailableFault
from pipeline.local.aws.kinesis import KinesisFront
from pipeline.local.aws.moto_allowlist import check_moto_request
from pipeline.local.aws.moto_services import TARGET_PREFIXES as MOTO_PREFIXES
from pipeline.local.aws.moto_services import MotoServices
from pipeline.local.aws.protocol import (
    DYNAMODB_CONTENT_TYPE,
    KINESIS_CONTENT_TYPE,
    EngineClient,
    Response,
    cbor_error,
    cbor_response,
    dynamodb_error_prefix,
    json_error,
    json_response,
    parse_json,
)
from pipeline.local.guard import Guard, GuardedHandlerMixin, Refusal, allowed_origins_from_env

logger = logging.getLogger("redline.gateway")

CLOUDWATCH_PREFIX = "GraniteServiceVersion20100801"
CLOUDWATCH_CBOR_PATH = f"/service/{CLOUDWATCH_PREFIX}/operation/"
MAX_BODY_BYTES = aws_limits.DYNAMODB_MAX_REQUEST_BYTES  # the largest of any API served here
# A PutRecords call carries up to 10 MiB of data, base64-encoded in JSON (4/3), plus its keys.
KINESIS_MAX_BODY_BYTES = aws_limits.KINESIS_PUT_RECORDS_MAX_BYTES * 4 // 3 + aws_limits.MIB
# SQS takes messages up to 1 MiB (a batch too); JSON escaping may double the bytes on the wire.
MOTO_MAX_BODY_BYTES = 2 * aws_limits.MIB
OTHER_MAX_BODY_BYTES = aws_limits.CLOUDWATCH_MAX_PUT_METRIC_DATA_BYTES


def body_limit(method: str, path: str, headers: Mapping[str, str]) -> int:
    """The largest request body AWS accepts for the API this request is for."""
    service = (headers.get("X-Amz-Target") or "").partition(".")[0]
    if service == "Kinesis_20131202":
        return KINESIS_MAX_BODY_BYTES
    if service == "DynamoDB_20120810":
        return aws_limits.DYNAMODB_MAX_REQUEST_BYTES
    if service in ("AmazonSQS", "secretsmanager", "AmazonSSM"):
        return MOTO_MAX_BODY_BYTES
    return OTHER_MAX_BODY_BYTES  # CloudWatch (1 MB a PutMetricData), control routes


# The X-Amz-Target prefixes of the moto-served services and the names they sign with.
MOTO_SIGNING_NAMES = {"AmazonSQS": "sqs", "AmazonSSM": "ssm", "secretsmanager": "secretsmanager"}
KINESIS_SERVED_TYPES = (KINESIS_CONTENT_TYPE, kinesis_cbor.CONTENT_TYPE)
DYNAMODB_SERVED_TYPES = (DYNAMODB_CONTENT_TYPE, "application/json")
CONTROL_ROUTES = {
    ("GET", "/_redline/health"): "health: 200 when every engine answers, else 503",
    ("POST", "/_redline/reset"): "drop every stream, table, queue, secret, parameter and metric",
    ("GET", "/_redline/config"): "the limits in force and the engines' ports",
    ("GET", "/_redline/scaling"): "auto scaling targets and activities, UpdateShardCount history",
    ("POST", "/_redline/metrics"): "PutMetricData (JSON) for the AWS/* metrics the local "
    "Lambda runtime publishes as AWS would (AWS/Lambda, AWS/ApiGateway)",
}


def _load_service_models() -> None:
    kinesis_cbor.operation_names()
    aws_auth.operation_names("dynamodb")


class Gateway:
    """Engines, fronts and metric store; `dispatch` answers one HTTP request."""

    def __init__(self, limits_enabled: bool, burst_seconds: float, state_dir: Path) -> None:
        self.limits_enabled = limits_enabled
        self.burst_seconds = burst_seconds
        self.state_dir = state_dir
        self.auth = aws_auth.AuthSettings.from_env()
        # Load botocore's service models now, not inside the first calls (about 1 s each).
        threading.Thread(target=_load_service_models, daemon=True, name="models").start()
        self.metrics = MetricStore()
        self.moto = MotoServices()
        self.unavailable_fault = UnavailableFault()
        self._engine_lock = threading.Lock()
        self.engines: dict[str, engine_procs.Engine] = {}
        self._start_engines()

    def _start_engines(self) -> None:
        started = {}
        try:
            for service in ("kinesis", "dynamodb"):
                started[service] = engine_procs.start_engine(service, self.state_dir)
        except Exception:
            for engine in started.values():
                engine.stop()
            raise
        self.engines = started
        kinesis_client = EngineClient(
            "kinesalite", "kinesis", started["kinesis"].port, KINESIS_CONTENT_TYPE
        )
        dynamo_client = EngineClient(
            "dynalite", "dynamodb", started["dynamodb"].port, DYNAMODB_CONTENT_TYPE
        )
        self.kinesis = KinesisFront(kinesis_client, self.metrics, self.limits_enabled)
        self.dynamodb = DynamoFront(
            dynamo_client, self.metrics, self.limits_enabled, self.burst_seconds
        )
        self.autoscaling = AutoScaling(
            self.metrics,
            lambda name: dynamo_client.call_json(
                "DescribeTable", "DynamoDB_20120810", {"TableName": name}
            )["Table"],
            self.dynamodb.update_table,
        )
        self.dynamodb.updating = self.autoscaling.updating

    def stop(self) -> None:
        if hasattr(self, "autoscaling"):
            self.autoscaling.stop()
        for engine in self.engines.values():
            engine.stop()

    def reset(self) -> None:
        """Fresh engines (their state is in memory), fresh moto backends, empty metrics."""
        with self._engine_lock:
            self.stop()
            self._start_engines()
            self.moto.reset()
            self.metrics.reset()

    def health(self) -> tuple[bool, dict[str, Any]]:
        checks: dict[str, Any] = {}
        for service, engine in self.engines.items():
            ok = engine.alive
            if ok:
                try:
                    with socket.create_connection(("127.0.0.1", engine.port), timeout=2):
                        pass
                except OSError:
                    ok = False
            checks[engine_procs.PACKAGES[service]] = {
                "ok": ok,
                "port": engine.port,
                "log": str(engine.log_path),
                **({} if ok else {"hint": "the engine died: read its log and restart the gateway"}),
            }
        checks["moto"] = {"ok": True}
        checks["cloudwatch"] = {"ok": True}
        return all(c["ok"] for c in checks.values()), checks

    def config(self) -> dict[str, Any]:
        return {
            "limits": self.limits_enabled,
            "burst_seconds": self.burst_seconds,
            "auth": self.auth.describe(),
            "state_durations_s": {s: states.durations(s) for s in ("kinesis", "dynamodb")},
            "state_dir": str(self.state_dir),
            "engines": {
                engine_procs.PACKAGES[s]: {
                    "port": e.port,
                    "pid": e.process.pid,
                    "log": str(e.log_path),
                }
                for s, e in self.engines.items()
            },
            "control_routes": {f"{m} {p}": d for (m, p), d in CONTROL_ROUTES.items()},
        }


class GatewayHandler(GuardedHandlerMixin, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one segment: with Nagle on, a split write waits for the
    # client's delayed ACK (40 ms a call).
    disable_nagle_algorithm = True
    wbufsize = 256 * 1024
    server_version = "redline-gateway"
    sys_version = ""
    gateway: Gateway  # set on the subclass the server builds

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:  # the client must not reuse a connection we are closing
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def send_refusal(self, refusal: Refusal) -> None:
        codes = {401: "MissingAuthenticationTokenException", 413: "SerializationException"}
        error = AwsError(codes.get(refusal.status, "AccessDeniedException"), refusal.message)
        error.status = refusal.status
        target = self.headers.get("X-Amz-Target", "")
        self._send(self._error_for(target, urlsplit(self.path).path, error))

    def _read_body(self) -> bytes:
        limit = body_limit(self.command, urlsplit(self.path).path, self.headers)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                total += size
                if total > limit:
                    raise AwsError(
                        "SerializationException",
                        f"Request body is larger than this API's maximum of {limit} bytes.",
                        413,
                    )
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:  # the guard refuses these first; kept for servers without a guard
            raise AwsError(
                "SerializationException",
                f"Request body is larger than this API's maximum of {limit} bytes.",
                413,
            )
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def _handle(self) -> None:
        target = self.headers.get("X-Amz-Target", "")
        path = urlsplit(self.path).path
        try:
            body = self._read_body()
        except (ValueError, AwsError) as exc:
            error = (
                exc if isinstance(exc, AwsError) else AwsError("SerializationException", str(exc))
            )
            self.close_connection = True
            self._send(self._error_for(target, path, error))  # in the protocol it was asked in
            return
        self._send(self._respond(target, path, body))

    def _respond(self, target: str, path: str, body: bytes) -> Response:
        """The answer to one request, whatever its framing (HTTP/1.1 here, HTTP/2 in http2)."""
        try:
            response = self._route(target, path, body)
        except EngineUnavailable as exc:
            logger.error("%s", exc)
            response = self._error_for(target, path, AwsError("ServiceUnavailable", str(exc), 503))
        except AwsError as exc:
            response = self._error_for(target, path, exc)
        except Exception as exc:  # never a bare 500 page or a hung client
            logger.exception("internal error on %s %s", target or path, self.command)
            response = self._error_for(
                target, path, AwsError("InternalFailure", f"local gateway error: {exc}", 500)
            )
        return response

    def parse_request(self) -> bool:
        if self.raw_requestline == http2.PREFACE_FIRST_LINE:  # HTTP/2 with prior knowledge
            self.close_connection = True
            http2.serve_connection(self, MAX_BODY_BYTES)
            return False
        return super().parse_request()

    def _error_for(self, target: str, path: str, error: AwsError) -> Response:
        if path.startswith(CLOUDWATCH_CBOR_PATH):
            return cbor_error(error)
        if target.startswith("DynamoDB_20120810."):
            return json_error(error, DYNAMODB_CONTENT_TYPE, dynamodb_error_prefix(error.code))
        if kinesis_cbor.is_cbor(self.headers.get("Content-Type")):
            return kinesis_cbor.error_reply(error)
        return json_error(error, KINESIS_CONTENT_TYPE)

    def _route(self, target: str, path: str, body: bytes) -> Response:
        gateway = self.gateway
        if path.startswith("/_redline/"):
            return self._control(path, body)
        if gateway.unavailable_fault.unavailable(target):
            raise AwsError("ServiceUnavailable", "Service unavailable (injected fault).", 503)
        if path.startswith(CLOUDWATCH_CBOR_PATH):
            operation = path[len(CLOUDWATCH_CBOR_PATH) :]
            try:
                request = cbor2.loads(body) if body else {}
            except Exception as exc:
                raise AwsError(
                    "SerializationException", f"Request body is not valid CBOR: {exc}"
                ) from exc
            if not isinstance(request, dict):
                raise AwsError("SerializationException", "Request body must be a CBOR map.")
            self._authenticate("monitoring", body)
            return cbor_response(gateway.metrics.handle(operation, request))
        service, _, operation = target.partition(".")
        auth = self.headers.get("Authorization", "")
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        moto_call = target.startswith(MOTO_PREFIXES) or self._signed_for(
            auth, ("sqs", "ssm", "secretsmanager")
        )
        if self.command != "POST" and not moto_call:
            # AWS's JSON endpoints serve POST only; kinesalite carries AWS's exact refusal.
            return passthrough.forward(
                gateway.engines["kinesis"].port, self.command, path, self.headers, body
            )
        if service == "Kinesis_20131202" and content_type not in KINESIS_SERVED_TYPES:
            return passthrough.forward(
                gateway.engines["kinesis"].port, self.command, path, self.headers, body
            )
        if service == "DynamoDB_20120810" and content_type not in DYNAMODB_SERVED_TYPES:
            return passthrough.forward(
                gateway.engines["dynamodb"].port, self.command, path, self.headers, body
            )
        if service == "Kinesis_20131202" and kinesis_cbor.is_cbor(self.headers.get("Content-Type")):
            return kinesis_cbor.handle(
                gateway.kinesis, operation, body, auth, lambda: self._authenticate("kinesis", body)
            )
        if service == "Kinesis_20131202":
            request = parse_json(body)
            # As AWS: a body that does not parse and an unknown operation are answered first.
            if body and operation in kinesis_cbor.operation_names():
                self._authenticate("kinesis", body)
            return gateway.kinesis.handle(operation, body, request, auth)
        if service == "DynamoDB_20120810":
            request = parse_json(body)
            if operation in aws_auth.operation_names("dynamodb"):
                self._authenticate("dynamodb", body)
            response = gateway.dynamodb.handle(operation, body, request, auth)
            if content_type == "application/json":  # DynamoDB answers in the type it was asked
                response.headers["Content-Type"] = "application/json"
            return response
        if service == AUTOSCALING_PREFIX:
            request = parse_json(body)
            self._authenticate("application-autoscaling", body)
            return json_response(
                gateway.autoscaling.handle(operation, request), AUTOSCALING_CONTENT_TYPE
            )
        if service == CLOUDWATCH_PREFIX:
            request = parse_json(body)
            self._authenticate("monitoring", body)
            return json_response(
                gateway.metrics.handle(operation, request), "application/x-amz-json-1.0"
            )
        if moto_call:
            self._authenticate(MOTO_SIGNING_NAMES.get(service) or self._scope_service(auth), body)
            query = urlsplit(self.path).query
            check_moto_request(target, path, query, body)
            status, headers, data = gateway.moto.call(self.command, path, query, self.headers, body)
            return Response(status, data, {"Content-Type": headers.get("Content-Type", "")})
        # AWS answers the type alone; what the gateway serves goes in a header.
        if not target:
            raise AwsError(
                "UnknownOperationException",
                "",
                hint="missing X-Amz-Target header: the local gateway serves Kinesis, DynamoDB, "
                "SQS, Secrets Manager and SSM (JSON protocol) and CloudWatch (rpc-v2-cbor or JSON)",
            )
        raise AwsError(
            "UnknownOperationException",
            "",
            hint=f"operation {target} is not served by the local gateway "
            "(Kinesis, DynamoDB, SQS, Secrets Manager, SSM, CloudWatch)",
        )

    def _authenticate(self, signing_name: str, body: bytes) -> None:
        parts = urlsplit(self.path)
        aws_auth.authenticate(
            self.gateway.auth,
            self.command,
            parts.path,
            parts.query,
            self.headers,
            body,
            signing_name,
        )

    @staticmethod
    def _scope_service(auth: str) -> str:
        try:
            return auth.split(",")[0].split()[1].split("/")[3]
        except IndexError:
            return ""

    @staticmethod
    def _signed_for(auth: str, services: tuple[str, ...]) -> bool:
        try:
            scope = auth.split(",")[0].split()[1]
            return scope.split("/")[3] in services
        except IndexError:
            return False

    def _control(self, path: str, body: bytes = b"") -> Response:
        gateway = self.gateway
        route = (self.command, path.rstrip("/"))
        if route == ("GET", "/_redline/health"):
            ok, checks = gateway.health()
            return json_response(
                {"ok": ok, "checks": checks}, "application/json", 200 if ok else 503
            )
        if route == ("POST", "/_redline/reset"):
            gateway.reset()
            return json_response({"ok": True}, "application/json")
        if route == ("GET", "/_redline/config"):
            return json_response(gateway.config(), "application/json")
        if route == ("GET", "/_redline/scaling"):
            return json_response(scaling_status(gateway), "application/json")
        if route == ("POST", "/_redline/metrics"):
            gateway.metrics.put_metric_data(parse_json(body), as_aws=True)
            return json_response({"ok": True}, "application/json")
        return json_response(
            {
                "message": f"no control route {self.command} {path}",
                "routes": [f"{m} {p}: {d}" for (m, p), d in CONTROL_ROUTES.items()],
            },
            "application/json",
            404,
        )


def scaling_status(gateway: Gateway) -> dict[str, Any]:
    autoscaling = gateway.autoscaling
    return {
        "autoscaling": {
            "minute_s": autoscaling.minute_s,
            "apply_delay_s": autoscaling.apply_delay_s,
            **autoscaling.handle("DescribeScalableTargets", {}),
            **autoscaling.handle("DescribeScalingActivities", {}),
        },
        "resharding": [r.as_dict() for r in gateway.kinesis.resharding.history],
    }


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False  # a port in use must fail loudly
    request_queue_size = 128


def serve(
    port: int,
    limits_enabled: bool,
    burst_seconds: float,
    state_dir: Path,
    token: str | None = None,
) -> tuple[GatewayServer, Gateway]:
    """Bind first (a port in use fails before engines start), then start the engines.

    `token` is what the control routes (/_redline/...) require in X-Redline-Token."""
    handler = type("BoundGatewayHandler", (GatewayHandler,), {})
    server = GatewayServer(("127.0.0.1", port), handler)
    handler.guard = Guard(
        port=server.server_address[1],
        token=token,
        allowed_origins=allowed_origins_from_env(),
        body_limit=body_limit,
    )
    try:
        gateway = Gateway(limits_enabled, burst_seconds, state_dir)
    except Exception:
        server.server_close()
        raise
    handler.gateway = gateway
    return server, gateway


def wait_until(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


__all__ = ["CONTROL_ROUTES", "Gateway", "GatewayServer", "serve"]
