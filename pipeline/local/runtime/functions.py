"""Functions and their execution environments: Lambda's invoke semantics on one machine.

A `Function` owns a pool of execution environments (worker subprocesses, one invocation at a
time each), created on demand (a cold start) and reused while warm. Its reserved concurrency
caps how many run at once: an invocation beyond the cap is throttled (`Throttled`), as Lambda
answers 429 TooManyRequestsException. A timeout kills the environment (the next invocation
gets a fresh one) and counts as an error, as Lambda does.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pipeline import aws_limits as limits
from pipeline import metrics as metric_names
from pipeline.local.runtime.cloudwatch import MetricsPublisher
from pipeline.local.runtime.worker import read_frame, write_frame

logger = logging.getLogger(__name__)

REGION = "us-east-1"
ACCOUNT_ID = "000000000000"
REPO_ROOT = Path(__file__).resolve().parents[3]
LAMBDA_NAMESPACE = metric_names.LAMBDA[0].namespace
REPORT_PREFIX = "REPORT RequestId: "


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    handler: str  # module.function, imported in the environment
    environment: dict[str, str]
    timeout_s: float
    memory_mb: int
    reserved_concurrency: int = -1  # -1: none (the account's unreserved pool)


class Throttled(Exception):
    """The invocation was refused: the function is at its concurrency limit."""

    def __init__(self, function_name: str, reason: str) -> None:
        super().__init__(f"Rate Exceeded. ({reason}) for {function_name}")
        self.reason = reason


@dataclass
class InvokeResult:
    request_id: str
    payload: str | None  # the handler's return value as JSON text (None on error)
    error: dict[str, Any] | None = None  # Lambda's {"errorMessage", "errorType", ...}
    duration_ms: float = 0.0

    @property
    def failed(self) -> bool:
        return self.error is not None

    def json(self) -> Any:
        return json.loads(self.payload) if self.payload is not None else None


class AccountConcurrency:
    """The account-wide concurrency pool (1,000 by default) shared by unreserved functions."""

    def __init__(self, limit: int = limits.LAMBDA_ACCOUNT_CONCURRENCY) -> None:
        self.limit = limit
        self._used = 0
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            if self._used >= self.limit:
                return False
            self._used += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._used -= 1


class EnvironmentDied(Exception):
    pass


class ExecutionEnvironment:
    """One worker subprocess running the function's handler module."""

    def __init__(
        self,
        spec: FunctionSpec,
        log_file: IO[str],
        log_lock: threading.Lock,
        on_line: Callable[[str], None],
    ) -> None:
        self.spec = spec
        request_read, self._request_write = os.pipe()
        self._response_read, response_write = os.pipe()
        stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        function_info = {
            "function_name": spec.name,
            "function_arn": function_arn(spec.name),
            "memory_mb": spec.memory_mb,
            "log_stream_name": stream_name,
        }
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
            ),
            "PYTHONUNBUFFERED": "1",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream_name,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "LAMBDA_TASK_ROOT": str(REPO_ROOT),
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            **spec.environment,
        }
        self.process = subprocess.Popen(  # noqa: S603 - our own worker module
            [
                sys.executable,
                "-m",
                "pipeline.local.runtime.worker",
                "--handler",
                spec.handler,
                "--request-fd",
                str(request_read),
                "--response-fd",
                str(response_write),
                "--function",
                json.dumps(function_info),
            ],
            pass_fds=(request_read, response_write),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO_ROOT,
        )
        os.close(request_read)
        os.close(response_write)
        self._requests = os.fdopen(self._request_write, "wb", buffering=1 << 16)
        self._responses = os.fdopen(self._response_read, "rb", buffering=1 << 16)
        self._log_file = log_file
        self._log_lock = log_lock
        self._on_line = on_line
        self._pump = threading.Thread(
            target=self._pump_logs, daemon=True, name=f"logs-{spec.name}-{self.process.pid}"
        )
        self._pump.start()
        self.init_error: dict[str, Any] | None = None
        self.init_ms = 0.0

    def _pump_logs(self) -> None:
        assert self.process.stdout is not None
        for raw in iter(self.process.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace")
            with self._log_lock:
                self._log_file.write(line)
                self._log_file.flush()
            try:
                self._on_line(line)
            except Exception:  # a bad metric line must not stop the log stream
                logger.exception("reading a log line of %s failed", self.spec.name)

    def _next_frame(self, timeout_s: float | None) -> dict[str, Any] | None:
        """The worker's next frame; {"kind": "died"} at EOF; None when the timeout passed.

        Read in the invoking thread (no hand-off to another thread: it halves the cost of a
        call under load). One request is outstanding at a time, so no frame is read ahead.
        """
        try:
            readable, _, _ = select.select([self._responses], [], [], timeout_s)
            if not readable:
                return None
            frame = read_frame(self._responses)
        except (OSError, ValueError):
            frame = None
        return frame if frame is not None else {"kind": "died"}

    def wait_ready(self, timeout_s: float) -> None:
        started = time.perf_counter()
        frame = self._next_frame(timeout_s)
        self.init_ms = (time.perf_counter() - started) * 1000
        if frame is None:
            self.kill()
            self.init_error = {
                "errorMessage": f"Init of {self.spec.name} did not finish in {timeout_s:.0f} s",
                "errorType": "Runtime.InitTimeout",
            }
            return
        if frame["kind"] == "init_error":
            self.init_error = frame["error"]
        elif frame["kind"] == "died":
            self.init_error = {
                "errorMessage": f"the environment exited during init (code {self.process.wait()})",
                "errorType": "Runtime.ExitError",
            }

    def invoke(self, request_id: str, event: Any, timeout_s: float) -> dict[str, Any] | None:
        """The worker's answer frame, or None if the timeout passed (the caller kills us)."""
        deadline_ms = int((time.time() + timeout_s) * 1000)
        try:
            write_frame(
                self._requests,
                {"request_id": request_id, "event": event, "deadline_ms": deadline_ms},
            )
        except (BrokenPipeError, OSError):
            return {"kind": "died"}
        return self._next_frame(timeout_s)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._close()

    def shutdown(self, timeout_s: float = 2.0) -> None:
        with contextlib.suppress(OSError):
            self._requests.close()  # EOF: the worker returns
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._close()

    def _close(self) -> None:
        for stream in (self._requests, self._responses):
            with contextlib.suppress(OSError):
                stream.close()
        self._pump.join(timeout=2)


@dataclass
class FunctionStats:
    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    timeouts: int = 0
    cold_starts: int = 0
    max_concurrency: int = 0


class Function:
    """One Lambda function: its pool of environments, its concurrency cap and its metrics."""

    def __init__(
        self,
        spec: FunctionSpec,
        log_dir: Path,
        publisher: MetricsPublisher | None,
        account: AccountConcurrency | None = None,
        init_timeout_s: float = 30.0,
    ) -> None:
        self.spec = spec
        self.arn = function_arn(spec.name)
        self._publisher = publisher
        self._account = account or AccountConcurrency()
        self._init_timeout_s = init_timeout_s
        self._idle: list[ExecutionEnvironment] = []
        self._all: set[ExecutionEnvironment] = set()
        self._running = 0
        self._lock = threading.Lock()
        self._closed = False
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{spec.name}.log"
        self._log_file = self.log_path.open("a", encoding="utf-8")
        self._log_lock = threading.Lock()
        self.stats = FunctionStats()
        self._dimensions = {"FunctionName": spec.name}
        self._reports = threading.Condition()
        self._reported: deque[str] = deque(maxlen=1000)

    @property
    def concurrency_limit(self) -> int | None:
        return None if self.spec.reserved_concurrency < 0 else self.spec.reserved_concurrency

    @property
    def running(self) -> int:
        return self._running

    def _on_line(self, line: str) -> None:
        if line.startswith(REPORT_PREFIX):
            with self._reports:
                self._reported.append(line[len(REPORT_PREFIX) :].split("\t", 1)[0].strip())
                self._reports.notify_all()
        elif self._publisher is not None and '"_aws"' in line:
            self._publisher.record_emf(line)

    def wait_for_report(self, request_id: str, timeout_s: float = 10.0) -> bool:
        """Wait until the invocation's REPORT line is in the log file (it is written by another
        thread, after the result came back): `LogType=Tail` must include it, as Lambda's does."""
        deadline = time.monotonic() + timeout_s
        with self._reports:
            while request_id not in self._reported:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._reports.wait(remaining)
        return True

    def _metric(self, name: str, value: float = 1.0) -> None:
        if self._publisher is not None:
            self._publisher.count(LAMBDA_NAMESPACE, name, self._dimensions, value)

    def _acquire(self) -> ExecutionEnvironment | None:
        """Reserve a slot (raise Throttled if none) and return an idle environment if warm."""
        with self._lock:
            if self._closed:
                raise Throttled(self.spec.name, "FunctionShuttingDown")
            limit = self.concurrency_limit
            if limit is not None and self._running >= limit:
                reason = "ReservedFunctionConcurrentInvocationLimitExceeded"
            elif limit is None and not self._account.try_acquire():
                reason = "ConcurrentInvocationLimitExceeded"
            else:
                reason = ""
            if reason:
                self.stats.throttles += 1
                self._metric("Throttles")
                raise Throttled(self.spec.name, reason)
            self._running += 1
            self.stats.max_concurrency = max(self.stats.max_concurrency, self._running)
            running = self._running
            environment = self._idle.pop() if self._idle else None
        if self._publisher is not None:
            self._publisher.gauge_max(
                LAMBDA_NAMESPACE, "ConcurrentExecutions", self._dimensions, running
            )
        return environment

    def _release(self, environment: ExecutionEnvironment | None) -> None:
        to_shut_down = None
        with self._lock:
            self._running -= 1
            if self.concurrency_limit is None:
                self._account.release()
            if environment is not None:
                if self._closed:
                    self._all.discard(environment)
                    to_shut_down = environment
                elif environment.alive:
                    self._idle.append(environment)
                else:
                    self._all.discard(environment)
        if to_shut_down is not None:
            to_shut_down.shutdown()

    def _new_environment(self) -> ExecutionEnvironment:
        environment = ExecutionEnvironment(self.spec, self._log_file, self._log_lock, self._on_line)
        with self._lock:
            self._all.add(environment)
        self.stats.cold_starts += 1
        environment.wait_ready(self._init_timeout_s)
        return environment

    def invoke(self, event: Any, request_id: str | None = None) -> InvokeResult:
        """Run the handler once; raise Throttled when the function is at its concurrency cap."""
        request_id = request_id or str(uuid.uuid4())
        environment = self._acquire()
        started = time.perf_counter()
        try:
            if environment is None:
                environment = self._new_environment()
            result = self._run(environment, request_id, event)
            if not environment.alive or environment.init_error is not None:
                environment.kill()
                with self._lock:
                    self._all.discard(environment)
                environment = None
        except Exception:
            if environment is not None:
                environment.kill()
                with self._lock:
                    self._all.discard(environment)
                environment = None
            raise
        finally:
            self._release(environment)
        result.duration_ms = result.duration_ms or (time.perf_counter() - started) * 1000
        with self._lock:
            self.stats.invocations += 1
            self.stats.errors += result.failed
        self._metric("Invocations")
        if self._publisher is not None:
            self._publisher.observe(
                LAMBDA_NAMESPACE, "Duration", self._dimensions, result.duration_ms
            )
        if result.failed:
            self._metric("Errors")
        return result

    def _run(self, environment: ExecutionEnvironment, request_id: str, event: Any) -> InvokeResult:
        if environment.init_error is not None:
            return InvokeResult(request_id, None, dict(environment.init_error))
        frame = environment.invoke(request_id, event, self.spec.timeout_s)
        if frame is None:
            environment.kill()
            self.stats.timeouts += 1
            message = f"Task timed out after {self.spec.timeout_s:.2f} seconds"
            with self._log_lock:
                self._log_file.write(f"{_log_time()} {request_id} {message}\n")
                self._log_file.flush()
            return InvokeResult(
                request_id,
                None,
                {"errorMessage": message, "errorType": "Sandbox.Timedout"},
                duration_ms=self.spec.timeout_s * 1000,
            )
        if frame["kind"] == "result":
            return InvokeResult(request_id, frame["payload"], None, frame["duration_ms"])
        if frame["kind"] == "error":
            return InvokeResult(request_id, None, frame["error"], frame["duration_ms"])
        code = environment.process.wait()
        return InvokeResult(
            request_id,
            None,
            {
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: "
                f"exit status {code}",
                "errorType": "Runtime.ExitError",
            },
        )

    def warm(self, count: int) -> None:
        """Start `count` environments at once, ahead of traffic (like provisioned concurrency).

        On a busy laptop a cold start takes seconds, several times AWS's; warming the API's
        first environments keeps that artefact out of the first requests' latency.
        """
        count = min(count, self.concurrency_limit if self.concurrency_limit is not None else count)
        started: list[ExecutionEnvironment] = []
        lock = threading.Lock()

        def start_one() -> None:
            environment = self._new_environment()
            with lock:
                started.append(environment)

        threads = [threading.Thread(target=start_one) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with self._lock:
            self._idle.extend(e for e in started if e.init_error is None and e.alive)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            environments = list(self._all)
            self._all.clear()
            self._idle.clear()
        for environment in environments:
            environment.shutdown()
        with self._log_lock:
            self._log_file.close()


def _log_time() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z"


@dataclass
class FunctionRegistry:
    """Every function of the stack by name (for the Invoke API and the schedule)."""

    functions: dict[str, Function] = field(default_factory=dict)

    def add(self, function: Function) -> Function:
        self.functions[function.spec.name] = function
        return function

    def get(self, name_or_arn: str) -> Function | None:
        name = name_or_arn.rsplit(":function:", 1)[-1].split(":", 1)[0]
        return self.functions.get(name)

    def close(self) -> None:
        for function in self.functions.values():
            function.close()
