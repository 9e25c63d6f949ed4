"""One execution environment: a subprocess that runs one function's handler, like a Lambda sandbox.

The parent (`environment.ExecutionEnvironment`) starts `python -m pipeline.local.runtime.worker`
with the function's environment variables and two pipe descriptors. The handler module is imported
once (the cold start), then invocations arrive one at a time as length-prefixed JSON frames. The
handler's stdout/stderr is the function's log stream; the worker writes Lambda's own START / END /
REPORT lines there too, so a log file reads like a CloudWatch log stream.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import struct
import sys
import time
import traceback
from typing import Any, BinaryIO

FRAME_HEADER = struct.Struct("!I")


def write_frame(stream: BinaryIO, message: dict[str, Any]) -> None:
    body = json.dumps(message, separators=(",", ":"), default=str).encode("utf-8")
    stream.write(FRAME_HEADER.pack(len(body)) + body)
    stream.flush()


def read_frame(stream: BinaryIO) -> dict[str, Any] | None:
    header = stream.read(FRAME_HEADER.size)
    if len(header) < FRAME_HEADER.size:
        return None
    (length,) = FRAME_HEADER.unpack(header)
    body = stream.read(length)
    if len(body) < length:
        return None
    return json.loads(body)


class LambdaContext:
    """The context object Lambda passes to a Python handler."""

    def __init__(self, invocation: dict[str, Any], function: dict[str, Any]) -> None:
        self.function_name = function["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = function["function_arn"]
        self.memory_limit_in_mb = int(function["memory_mb"])
        self.aws_request_id = invocation["request_id"]
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = function["log_stream_name"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = int(invocation["deadline_ms"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def error_payload(exc: BaseException) -> dict[str, Any]:
    """Lambda's error shape for an unhandled exception."""
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def load_handler(path: str):
    module_name, _, attribute = path.rpartition(".")
    if not module_name:
        raise ValueError(f"handler {path!r} must be <module>.<function>")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise AttributeError(f"Handler '{attribute}' missing on module '{module_name}'") from None


def _max_memory_mb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def serve(handler_path: str, function: dict[str, Any], requests: BinaryIO, responses: BinaryIO):
    init_started = time.perf_counter()
    try:
        handler = load_handler(handler_path)
    except BaseException as exc:  # an import error is the function's error, reported to the parent
        traceback.print_exc()
        sys.stdout.flush()
        payload = error_payload(exc)
        payload["errorType"] = f"Runtime.ImportModuleError: {payload['errorType']}"
        write_frame(responses, {"kind": "init_error", "error": payload})
        return
    init_ms = (time.perf_counter() - init_started) * 1000
    write_frame(responses, {"kind": "ready", "init_ms": init_ms})
    first = True
    while True:
        invocation = read_frame(requests)
        if invocation is None:  # the parent closed the pipe: the environment is shut down
            return
        request_id = invocation["request_id"]
        print(f"START RequestId: {request_id} Version: $LATEST", flush=True)
        context = LambdaContext(invocation, function)
        started = time.perf_counter()
        try:
            result = handler(invocation["event"], context)
            body = json.dumps(result, default=str)
            message: dict[str, Any] = {"kind": "result", "payload": body}
        except Exception as exc:
            traceback.print_exc()
            payload = error_payload(exc)
            payload["requestId"] = request_id
            message = {"kind": "error", "error": payload}
        duration_ms = (time.perf_counter() - started) * 1000
        sys.stdout.flush()
        sys.stderr.flush()
        init_text = f"\tInit Duration: {init_ms:.2f} ms" if first else ""
        print(f"END RequestId: {request_id}", flush=True)
        print(
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {max(1, round(duration_ms + 0.4999))} ms\t"
            f"Memory Size: {function['memory_mb']} MB\tMax Memory Used: {_max_memory_mb()} MB"
            f"{init_text}",
            flush=True,
        )
        first = False
        message["duration_ms"] = duration_ms
        write_frame(responses, message)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--handler", required=True)
    parser.add_argument("--request-fd", type=int, required=True)
    parser.add_argument("--response-fd", type=int, required=True)
    parser.add_argument("--function", required=True, help="JSON: name, arn, memory, log stream")
    args = parser.parse_args(argv)
    requests = os.fdopen(args.request_fd, "rb", buffering=1 << 16)
    responses = os.fdopen(args.response_fd, "wb", buffering=1 << 16)
    serve(args.handler, json.loads(args.function), requests, responses)


if __name__ == "__main__":
    main()
