"""Lambda's Invoke REST API on 127.0.0.1, so `boto3.client("lambda", endpoint_url=...)` works.

`POST /2015-03-31/functions/<name>/invocations` with the invocation types RequestResponse (the
payload, or `X-Amz-Function-Error: Unhandled` and the error document), Event (202, run in the
background) and DryRun (204); `X-Amz-Log-Type: Tail` returns the last 4 KB of the function's
log in `X-Amz-Log-Result`. Errors use Lambda's types: ResourceNotFoundException (404),
TooManyRequestsException (429), InvalidRequestContentException (400).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from pipeline import aws_limits
from pipeline.local.guard import Guard, Refusal, allowed_origins_from_env
from pipeline.local.jwt_issuer import DEFAULT_TTL_S, LocalIssuer
from pipeline.local.runtime.functions import Function, FunctionRegistry, Throttled, function_arn
from pipeline.local.runtime.httpserver import KeepAliveHandler, LoopbackServer

logger = logging.getLogger(__name__)

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
FUNCTION_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/?$")
LIST_PATH = re.compile(r"^/2015-03-31/functions/?$")
TAIL_BYTES = 4096
JWKS_PATH = "/_redline/jwks.json"  # the local JWT issuer's keys (no token needed)
MINT_PATH = "/_redline/jwt"  # a token from the local issuer (stack token needed)
ASYNC_THROTTLE_RETRIES = 20
# Environment variables whose values GetFunction shows as REDACTED: the local stack passes the
# user's New Relic key and similar secrets from the shell to the functions.
SECRET_NAME_PARTS = ("KEY", "SECRET", "TOKEN", "PASSWORD", "CREDENTIAL", "AUTH")
REDACTED = "REDACTED"


def redacted_environment(environment: Mapping[str, str]) -> dict[str, str]:
    return {
        name: REDACTED if any(part in name.upper() for part in SECRET_NAME_PARTS) else value
        for name, value in environment.items()
    }


def invoke_body_limit(method: str, path: str, headers: Mapping[str, str]) -> int:
    """Lambda's payload maximum: 6 MB synchronous, 1 MB for InvocationType Event."""
    if headers.get("X-Amz-Invocation-Type") == "Event":
        return aws_limits.LAMBDA_MAX_ASYNC_PAYLOAD_BYTES
    return aws_limits.LAMBDA_MAX_PAYLOAD_BYTES


def too_large_message(limit: int) -> str:
    return f"Request must be smaller than {limit} bytes for the InvokeFunction operation"


def function_configuration(function: Function) -> dict[str, Any]:
    spec = function.spec
    return {
        "FunctionName": spec.name,
        "FunctionArn": function.arn,
        "Runtime": "python3.11",
        "Handler": spec.handler,
        "Timeout": spec.timeout_s,
        "MemorySize": spec.memory_mb,
        "Version": "$LATEST",
        "State": "Active",
        "Environment": {"Variables": redacted_environment(spec.environment)},
    }


def _tail(function: Function) -> str:
    try:
        with function.log_path.open("rb") as log:
            log.seek(0, 2)
            size = log.tell()
            log.seek(max(0, size - TAIL_BYTES))
            return base64.b64encode(log.read()).decode("ascii")
    except OSError:
        return ""


def _invoke_async(function: Function, event: Any) -> None:
    delay = 0.1
    for _ in range(ASYNC_THROTTLE_RETRIES):
        try:
            function.invoke(event)
            return
        except Throttled:
            threading.Event().wait(delay)
            delay = min(delay * 2, 5.0)
    logger.warning(
        "async invocation of %s dropped: throttled %d times",
        function.spec.name,
        ASYNC_THROTTLE_RETRIES,
    )


def make_invoke_server(
    registry: FunctionRegistry,
    port: int,
    status: Callable[[], dict[str, Any]] | None = None,
    control_token: str | None = None,
    issuer: LocalIssuer | None = None,
    audiences: tuple[str, ...] = (),
) -> LoopbackServer:
    """The Invoke API; `GET /_redline/health` and `GET /_redline/status` describe the runtime."""

    class InvokeHandler(KeepAliveHandler):
        def send_refusal(self, refusal: Refusal) -> None:
            path = urlsplit(self.path).path
            if refusal.reason == "too_large" and INVOKE_PATH.match(path):
                limit = invoke_body_limit(self.command, path, self.headers)
                self._error(413, "RequestTooLargeException", too_large_message(limit))
                return
            error_type = {
                413: "RequestEntityTooLargeException",
                400: "InvalidRequestContentException",
            }
            self._error(
                refusal.status,
                error_type.get(refusal.status, "AccessDeniedException"),
                refusal.message,
            )

        def _error(self, status: int, error_type: str, message: str, **extra: Any) -> None:
            self.send_json(
                status,
                {"Type": "User", "message": message, **extra},
                headers=[("x-amzn-ErrorType", error_type)],
            )

        def _mint(self, body: bytes) -> None:
            """{"audience": one of the API's, "ttl_seconds": n} -> {"token": a JWT}."""
            try:
                request = json.loads(body or b"{}")
                audience = request.get("audience") or audiences[0]
                ttl_s = float(request.get("ttl_seconds", DEFAULT_TTL_S))
                if ttl_s < 1:
                    raise ValueError(f"ttl_seconds must be 1 or more, got {ttl_s:g}")
            except (ValueError, AttributeError, IndexError, TypeError) as exc:
                self.send_json(400, {"message": f"bad token request: {exc}"})
                return
            self.send_json(200, {"token": issuer.mint(audience, ttl_s=ttl_s)})

        def _function(self, name: str) -> Function | None:
            function = registry.get(unquote(name))
            if function is None:
                self._error(
                    404,
                    "ResourceNotFoundException",
                    f"Function not found: {function_arn(unquote(name))}",
                )
            return function

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/_redline/health":
                self.send_json(200, {"status": "ok", "functions": sorted(registry.functions)})
                return
            if path == JWKS_PATH and issuer is not None:
                self.send_json(200, issuer.jwks())
                return
            if path == "/_redline/status" and status is not None:
                self.send(200, json.dumps(status(), default=str).encode("utf-8"))
                return
            if LIST_PATH.match(path):
                functions = [function_configuration(f) for f in registry.functions.values()]
                self.send_json(200, {"Functions": functions})
                return
            found = FUNCTION_PATH.match(path)
            if found:
                function = self._function(found.group("name"))
                if function is not None:
                    self.send_json(200, {"Configuration": function_configuration(function)})
                return
            self._error(404, "ResourceNotFoundException", f"no route for GET {path}")

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            body = self.read_body()
            if path == MINT_PATH and issuer is not None:
                self._mint(body)
                return
            found = INVOKE_PATH.match(path)
            if not found:
                self._error(404, "ResourceNotFoundException", f"no route for POST {path}")
                return
            function = self._function(found.group("name"))
            if function is None:
                return
            invocation_type = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
            request_limit = (
                aws_limits.LAMBDA_MAX_ASYNC_PAYLOAD_BYTES
                if invocation_type == "Event"
                else aws_limits.LAMBDA_MAX_PAYLOAD_BYTES
            )
            if len(body) > request_limit:
                self._error(413, "RequestTooLargeException", too_large_message(request_limit))
                return
            try:
                event = json.loads(body) if body else {}
            except ValueError as exc:
                self._error(
                    400,
                    "InvalidRequestContentException",
                    f"Could not parse request body into json: {exc}",
                )
                return
            if invocation_type == "DryRun":
                self.send(204, b"", content_type=None)
                return
            if invocation_type == "Event":
                threading.Thread(target=_invoke_async, args=(function, event), daemon=True).start()
                self.send(202, b"", content_type=None)
                return
            if invocation_type != "RequestResponse":
                self._error(
                    400,
                    "InvalidParameterValueException",
                    f"X-Amz-Invocation-Type must be RequestResponse, Event or DryRun, "
                    f"got {invocation_type!r}",
                )
                return
            try:
                result = function.invoke(event)
            except Throttled as exc:
                self._error(
                    429,
                    "TooManyRequestsException",
                    "Rate Exceeded.",
                    Reason=exc.reason,
                    retryAfterSeconds="1",
                )
                return
            headers = [
                ("X-Amz-Executed-Version", "$LATEST"),
                ("x-amzn-RequestId", result.request_id),
            ]
            if self.headers.get("X-Amz-Log-Type") == "Tail":
                function.wait_for_report(result.request_id)
                headers.append(("X-Amz-Log-Result", _tail(function)))
            if result.failed:
                headers.append(("X-Amz-Function-Error", "Unhandled"))
                self.send_json(200, result.error, headers)
                return
            self.send(200, (result.payload or "null").encode("utf-8"), headers)

    origins = allowed_origins_from_env()
    return LoopbackServer(
        port,
        InvokeHandler,
        guard=lambda bound: Guard(
            bound,
            control_token,
            origins,
            public_paths=frozenset({JWKS_PATH}),
            body_limit=invoke_body_limit,
        ),
    )
