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
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from pipeline import aws_limits as limits
from pipeline.local.runtime.functions import Function, FunctionRegistry, Throttled, function_arn
from pipeline.local.runtime.httpserver import KeepAliveHandler, LoopbackServer

logger = logging.getLogger(__name__)

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
FUNCTION_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/?$")
LIST_PATH = re.compile(r"^/2015-03-31/functions/?$")
TAIL_BYTES = 4096
ASYNC_THROTTLE_RETRIES = 20


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
        "Environment": {"Variables": dict(spec.environment)},
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
    registry: FunctionRegistry, port: int, status: Callable[[], dict[str, Any]] | None = None
) -> LoopbackServer:
    """The Invoke API; `GET /_redline/health` and `GET /_redline/status` describe the runtime."""

    class InvokeHandler(KeepAliveHandler):
        def _error(self, status: int, error_type: str, message: str, **extra: Any) -> None:
            self.send_json(
                status,
                {"Type": "User", "message": message, **extra},
                headers=[("x-amzn-ErrorType", error_type)],
            )

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
            found = INVOKE_PATH.match(path)
            if not found:
                self._error(404, "ResourceNotFoundException", f"no route for POST {path}")
                return
            function = self._function(found.group("name"))
            if function is None:
                return
            invocation_type = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
            request_limit = (
                limits.LAMBDA_MAX_ASYNC_PAYLOAD_BYTES
                if invocation_type == "Event"
                else limits.LAMBDA_MAX_PAYLOAD_BYTES
            )
            if len(body) > request_limit:
                self._error(
                    413,
                    "RequestTooLargeException",
                    f"Request must be smaller than {request_limit} bytes for the "
                    "InvokeFunction operation",
                )
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

    return LoopbackServer(port, InvokeHandler)
