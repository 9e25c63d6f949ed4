"""The HTTP API adapter: API Gateway (HTTP API, payload format 2.0) in front of the API function.

A real HTTP server on 127.0.0.1. For each request it finds the route (unknown routes get API
Gateway's own 404), applies the route's throttling (token bucket, 429), builds the payload-2.0
event, invokes the function and maps its response, including the shorthand where a function
returns a JSON value without `statusCode`. A Lambda error, timeout or throttle becomes API
Gateway's 500 `{"message":"Internal Server Error"}`: API Gateway does not pass Lambda's 429 on.
It publishes AWS/ApiGateway's metrics (Count, 4xx, 5xx, Latency, IntegrationLatency; ApiId).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pipeline import aws_limits as limits
from pipeline import metrics as metric_names
from pipeline.local.guard import Guard, allowed_origins_from_env
from pipeline.local.runtime.auth import ApiAuthorizer
from pipeline.local.runtime.functions import ACCOUNT_ID, Function, Throttled
from pipeline.local.runtime.httpserver import KeepAliveHandler, LoopbackServer
from pipeline.local.runtime.throttle import TokenBucket

API_NAMESPACE = metric_names.API_GATEWAY[0].namespace
STAGE = "$default"

# The read API's routes, in Terraform's order (terraform/modules/api/main.tf); tests check that
# they are the routes the API handler serves (pipeline.api.responses.ROUTES) and Terraform's.
ROUTE_KEYS = ("GET /events/{event_id}", "GET /events", "GET /health")

NOT_FOUND = {"message": "Not Found"}
TOO_MANY_REQUESTS = {"message": "Too Many Requests"}
INTERNAL_SERVER_ERROR = {"message": "Internal Server Error"}
SERVICE_UNAVAILABLE = {"message": "Service Unavailable"}
HOP_BY_HOP_HEADERS = frozenset({"content-length", "connection", "transfer-encoding"})
TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
)


def api_id_for(environment: str) -> str:
    """A stable 10-character API id per environment, shaped like API Gateway's."""
    return hashlib.sha256(f"redline-api-{environment}".encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Route:
    key: str
    method: str
    pattern: re.Pattern[str]
    parameters: tuple[str, ...]

    @classmethod
    def parse(cls, key: str) -> Route:
        method, _, path = key.partition(" ")
        parameters: list[str] = []
        regex = ""
        for segment in path.strip("/").split("/") if path.strip("/") else []:
            name = re.fullmatch(r"\{([A-Za-z0-9_]+)(\+?)\}", segment)
            if name and name.group(2):
                parameters.append(name.group(1))
                regex += f"/(?P<{name.group(1)}>.+)"
            elif name:
                parameters.append(name.group(1))
                regex += f"/(?P<{name.group(1)}>[^/]+)"
            else:
                regex += "/" + re.escape(segment)
        return cls(key, method.upper(), re.compile(f"^{regex or '/'}$"), tuple(parameters))


def match_route(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for a request; literal routes win over parameterised ones, as in API Gateway."""
    candidates = []
    for route in routes:
        if route.method not in (method, "ANY"):
            continue
        found = route.pattern.match(path)
        if found:
            candidates.append((len(route.parameters), route, found.groupdict()))
    if not candidates:
        return None
    _, route, params = min(candidates, key=lambda c: c[0])
    return route, params


def build_event(
    route: Route,
    params: dict[str, str],
    method: str,
    raw_target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
    api_id: str,
    request_id: str,
    now: float,
) -> dict[str, Any]:
    """A payload-format-2.0 event as API Gateway's HTTP API builds it."""
    split = urlsplit(raw_target)
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        joined[lower] = f"{joined[lower]},{value}" if lower in joined else value
    query: dict[str, str] = {}
    for key, value in parse_qsl(split.query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    content_type = joined.get("content-type", "")
    is_text = not body or content_type.startswith(TEXT_TYPES)
    if is_text:
        try:
            body_text = body.decode("utf-8")
        except UnicodeDecodeError:
            is_text = False
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": split.path,
        "rawQueryString": split.query,
        "headers": joined,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": api_id,
            "domainName": joined.get("host", "127.0.0.1"),
            "domainPrefix": joined.get("host", "127.0.0.1").split(".")[0],
            "http": {
                "method": method,
                "path": split.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route.key,
            "stage": STAGE,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": not is_text,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if params:
        event["pathParameters"] = params
    if body:
        event["body"] = body_text if is_text else base64.b64encode(body).decode("ascii")
    return event


def map_response(payload_text: str | None) -> tuple[int, list[tuple[str, str]], bytes]:
    """The function's result as (status, headers, body); ValueError if API Gateway would 500."""
    value = json.loads(payload_text) if payload_text is not None else None
    if not (isinstance(value, dict) and "statusCode" in value):
        # The shorthand: any JSON value without statusCode is a 200 application/json body.
        body = payload_text.encode("utf-8") if payload_text is not None else b""
        return 200, [("Content-Type", "application/json")], body
    status = value["statusCode"]
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r} is not an HTTP status")
    headers: list[tuple[str, str]] = []
    for name, header_value in (value.get("headers") or {}).items():
        if str(name).lower() not in HOP_BY_HOP_HEADERS:  # the server sets these itself
            headers.append((str(name), str(header_value)))
    for cookie in value.get("cookies") or []:
        headers.append(("Set-Cookie", str(cookie)))
    raw_body = value.get("body")
    if raw_body is None:
        body = b""
    elif value.get("isBase64Encoded"):
        body = base64.b64decode(raw_body)
    else:
        body = (raw_body if isinstance(raw_body, str) else json.dumps(raw_body)).encode("utf-8")
    return status, headers, body


class HttpApi:
    """The API's state: routes, throttling buckets, the function and the metrics."""

    def __init__(
        self,
        function: Function,
        api_id: str,
        rate_limit: float,
        burst_limit: int,
        publisher=None,
        route_keys=ROUTE_KEYS,
        authorizer: ApiAuthorizer | None = None,
    ) -> None:
        self.function = function
        self.authorizer = authorizer  # None: every request passes (auth_type NONE)
        self.api_id = api_id
        self.publisher = publisher
        self.routes = [Route.parse(key) for key in route_keys]
        # Stage default route throttling applies to each route; the account limit to them all.
        self.route_buckets = {r.key: TokenBucket(rate_limit, burst_limit) for r in self.routes}
        self.account_bucket = TokenBucket(limits.APIGW_ACCOUNT_RATE, limits.APIGW_ACCOUNT_BURST)
        self._dimensions = {"ApiId": api_id}

    def record(self, status: int, latency_ms: float, integration_ms: float | None) -> None:
        if self.publisher is None:
            return
        publisher, dims = self.publisher, self._dimensions
        publisher.count(API_NAMESPACE, "Count", dims)
        if 400 <= status < 500:
            publisher.count(API_NAMESPACE, "4xx", dims)
        elif status >= 500:
            publisher.count(API_NAMESPACE, "5xx", dims)
        publisher.observe(API_NAMESPACE, "Latency", dims, latency_ms)
        if integration_ms is not None:
            publisher.observe(API_NAMESPACE, "IntegrationLatency", dims, integration_ms)

    def handle(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> tuple[int, list[tuple[str, str]], bytes, float | None]:
        """(status, headers, body, integration latency ms) for one request."""
        request_id = base64.b32encode(uuid.uuid4().bytes[:10]).decode("ascii").rstrip("=")
        request_headers = [("apigw-requestid", request_id)]
        path = urlsplit(target).path or "/"
        found = match_route(self.routes, method, path)
        if found is None:
            return 404, request_headers, _json(NOT_FOUND), None
        route, params = found
        authorizer_context = None
        if self.authorizer is not None:
            denial, authorizer_context = self.authorizer.authorize(method, target, headers, body)
            if denial is not None:
                status, denial_headers, document = denial
                return status, denial_headers + request_headers, _json(document), None
        if not self.account_bucket.try_take() or not self.route_buckets[route.key].try_take():
            return 429, request_headers, _json(TOO_MANY_REQUESTS), None
        now = time.time()
        event = build_event(
            route, params, method, target, headers, body, source_ip, self.api_id, request_id, now
        )
        if authorizer_context:
            event["requestContext"]["authorizer"] = authorizer_context
        started = time.perf_counter()
        try:
            result = self.function.invoke(event)
        except Throttled:
            return 500, request_headers, _json(INTERNAL_SERVER_ERROR), None
        integration_ms = (time.perf_counter() - started) * 1000
        if result.failed:
            return 500, request_headers, _json(INTERNAL_SERVER_ERROR), integration_ms
        try:
            status, response_headers, response_body = map_response(result.payload)
        except (ValueError, TypeError):
            return 500, request_headers, _json(INTERNAL_SERVER_ERROR), integration_ms
        return status, response_headers + request_headers, response_body, integration_ms


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def api_body_limit(method: str, path: str, headers: Mapping[str, str]) -> int:
    return limits.APIGW_MAX_PAYLOAD_BYTES


def make_api_server(api: HttpApi, port: int, control_token: str | None = None) -> LoopbackServer:
    class ApiRequestHandler(KeepAliveHandler):
        def _serve(self) -> None:
            started = time.perf_counter()
            body = self.read_body()
            status, headers, response, integration_ms = api.handle(
                self.command, self.path, list(self.headers.items()), body, self.client_address[0]
            )
            content_type = (
                None
                if any(n.lower() == "content-type" for n, _ in headers)
                else ("application/json")
            )
            self.send(status, response, headers, content_type)
            api.record(status, (time.perf_counter() - started) * 1000, integration_ms)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

    origins = allowed_origins_from_env()
    return LoopbackServer(
        port,
        ApiRequestHandler,
        guard=lambda bound: Guard(bound, control_token, origins, body_limit=api_body_limit),
    )
