"""The local stack as background processes: `make up`, `make down`, `make status`, `make logs`.

Two processes, each in its own process group, both bound to 127.0.0.1:
- the AWS endpoint (`python -m pipeline.local.aws`, the gateway and its engines);
- the Lambda runtime (`python -m pipeline.local.runtime`: functions, Kinesis mapping, HTTP API,
  Invoke API, schedule), which provisions the environment file's resources on the endpoint.

`start_stack` waits until every part answers and writes `<state_dir>/stack.json`; `stop_stack`
stops exactly the processes that file names (checking each pid's start time, so a reused pid
is never signalled), SIGTERM then SIGKILL after a timeout, and clears the state. The load tests
call both from Python; the CLI (`python -m pipeline.local`) wraps them for make.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.config import load_environment
from pipeline.local import loopback
from pipeline.local.api_auth import local_api_headers
from pipeline.local.disk import DiskSpaceError, check_free_space
from pipeline.local.guard import TOKEN_ENV, new_token
from pipeline.local.runtime.api import api_id_for

REPO_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
STACK_FILE = "stack.json"
DEFAULT_PORTS = {"aws": 4566, "api": 8080, "lambda": 4567}
PORT_VARIABLES = {
    "aws": "REDLINE_AWS_PORT",
    "api": "REDLINE_API_PORT",
    "lambda": "REDLINE_LAMBDA_PORT",
}
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0
THROTTLED_HEALTH_RETRIES = 10  # a small route burst spent by the readiness polls answers 429
GATEWAY, RUNTIME = "gateway", "runtime"


class StackError(RuntimeError):
    """The stack could not start or stop; the message says what to do (one line first)."""


@dataclass
class StackHandle:
    """What `make up` started (the content of stack.json)."""

    environment: str
    aws_endpoint_url: str
    api_url: str
    lambda_endpoint_url: str
    pids: dict[str, int]
    logs: dict[str, str]
    started_at: str
    state_dir: str
    api_id: str = ""
    token: str = ""  # the control routes' X-Redline-Token; stack.json is mode 0600
    process_start_ticks: dict[str, int] = field(default_factory=dict)
    already_running: bool = False

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document.pop("already_running")
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> StackHandle:
        known = {k: v for k, v in document.items() if k in cls.__dataclass_fields__}
        return cls(**known)


# ---------------------------------------------------------------------- processes


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie has exited
        return None
    return int(fields[19])


def _alive(pid: int, ticks: int | None) -> bool:
    current = _start_ticks(pid)
    if current is None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not Path("/proc").exists()  # no /proc: trust kill(0)
    return ticks is None or current == ticks


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def _http_status(
    url: str,
    timeout_s: float = 2.0,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> int | None:
    try:
        return loopback.request(url, headers=headers, timeout_s=timeout_s, token=token)[0]
    except (OSError, http.client.HTTPException):
        return None


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _spawn(name: str, argv: list[str], log_path: Path, extra_env: dict[str, str]):
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **extra_env}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    with log_path.open("ab") as log:
        return subprocess.Popen(  # noqa: S603 - our own modules, no shell
            [sys.executable, "-m", *argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            env=env,
            start_new_session=True,  # its own process group: `down` stops it and its children
        )


def _wait_until(check, process, name: str, log_path: Path, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackError(
                f"the {name} exited during start (exit code {process.returncode}); "
                f"its log: {log_path}\n{_tail(log_path)}"
            )
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise StackError(
        f"the {name} did not answer {what} within {timeout_s:.0f} s; "
        f"its log: {log_path}\n{_tail(log_path)}"
    )


def _terminate(pid: int, ticks: int | None, timeout_s: float, process=None) -> str:
    """SIGTERM the process group, wait, SIGKILL after the timeout. Returns what happened."""
    if not _alive(pid, ticks):
        return "already stopped"
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return "already stopped"
    if pgid != pid:  # not a group leader we started: signal the process alone
        pgid = None

    def send(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            if pgid is not None:
                os.killpg(pgid, sig)
            else:
                os.kill(pid, sig)

    send(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        if process is None and not _alive(pid, ticks):
            break
        time.sleep(0.05)
    else:
        send(signal.SIGKILL)
        if process is not None:
            process.wait(timeout=5)
        return "killed (did not stop within the timeout)"
    # The group's other members (workers, engines) follow their leader; make sure.
    if pgid is not None:
        time.sleep(0.05)
        send(signal.SIGKILL)
    return "stopped"


# ---------------------------------------------------------------------- state


def read_stack(state_dir: Path | str = ".redline") -> StackHandle | None:
    path = Path(state_dir) / STACK_FILE
    try:
        return StackHandle.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def running_parts(handle: StackHandle) -> dict[str, bool]:
    return {
        name: _alive(pid, handle.process_start_ticks.get(name)) for name, pid in handle.pids.items()
    }


def resolve_port(part: str, given: int | None) -> int:
    if given is not None:
        return given if given else free_port()
    variable = PORT_VARIABLES[part]
    raw = os.environ.get(variable)
    if raw is None:
        return DEFAULT_PORTS[part]
    problem = f"{variable} must be a port number 0..65535 (0 = any free port), got {raw!r}"
    try:
        port = int(raw)
    except ValueError:
        raise StackError(problem) from None
    if not 0 <= port <= 65535:
        raise StackError(problem)
    return port or free_port()


# ---------------------------------------------------------------------- start / stop


_CHILDREN: dict[int, subprocess.Popen] = {}  # processes this Python process started


def start_stack(
    env: str | Path = "local",
    aws_port: int | None = None,
    api_port: int | None = None,
    lambda_port: int | None = None,
    state_dir: Path | str = ".redline",
    handlers: dict[str, str] | None = None,
    gateway_args: list[str] | None = None,
    runtime_args: list[str] | None = None,
    timeout_s: float = START_TIMEOUT_S,
) -> StackHandle:
    """Start the gateway and the runtime in the background; return once every part answers.

    Ports: None takes REDLINE_*_PORT or the default, 0 picks a free port. If stack.json names
    a running stack, that stack is returned with `already_running=True`.
    """
    state = Path(state_dir).resolve()
    existing = read_stack(state)
    if existing is not None:
        alive = running_parts(existing)
        if alive and all(alive.values()):
            existing.already_running = True
            return existing
        stop_stack(state)  # a half-dead stack: stop what is left, then start afresh
    config = load_environment(env)  # a bad environment file fails here, before any process
    try:
        check_free_space(state)
    except DiskSpaceError as exc:
        raise StackError(str(exc)) from None
    ports = {
        "aws": resolve_port("aws", aws_port),
        "api": resolve_port("api", api_port),
        "lambda": resolve_port("lambda", lambda_port),
    }
    busy = [
        f"{part} port {port} ({PORT_VARIABLES[part]})"
        for part, port in ports.items()
        if not _port_free(port)
    ]
    if busy:
        raise StackError(
            f"port in use on {LOOPBACK}: {', '.join(busy)}; stop what uses it "
            f"(`make down` if it is an older stack) or choose another port with the variable"
        )
    started_at = datetime.now(tz=UTC)
    run_id = started_at.strftime("%Y%m%dT%H%M%SZ")
    log_dir = state / "logs" / run_id
    logs = {
        GATEWAY: str(log_dir / "gateway.log"),
        RUNTIME: str(log_dir / "runtime.log"),
        "functions": str(log_dir / "functions"),
    }
    aws_url = f"http://{LOOPBACK}:{ports['aws']}"
    handle = StackHandle(
        environment=config.environment,
        aws_endpoint_url=aws_url,
        api_url=f"http://{LOOPBACK}:{ports['api']}",
        lambda_endpoint_url=f"http://{LOOPBACK}:{ports['lambda']}",
        pids={},
        logs=logs,
        started_at=started_at.isoformat(timespec="seconds"),
        state_dir=str(state),
        token=new_token(),
    )
    state.mkdir(parents=True, exist_ok=True)
    latest = state / "logs" / "latest"
    with contextlib.suppress(OSError):
        latest.unlink(missing_ok=True)
        latest.symlink_to(run_id)

    def remember(name: str, process: subprocess.Popen) -> None:
        _CHILDREN[process.pid] = process
        handle.pids[name] = process.pid
        handle.process_start_ticks[name] = _start_ticks(process.pid) or 0
        _write_state(state, handle)

    def start_part(name: str, argv: list[str], what: str, health_url: str):
        process = _spawn(name, argv, Path(logs[name]), {TOKEN_ENV: handle.token})
        remember(name, process)
        _wait_until(
            lambda: _http_status(health_url, token=handle.token) == 200,
            process,
            what,
            Path(logs[name]),
            timeout_s,
            health_url,
        )
        return process

    try:
        start_part(
            GATEWAY,
            [
                "pipeline.local.aws",
                "--port",
                str(ports["aws"]),
                "--state-dir",
                str(log_dir / "aws"),
                *(gateway_args or []),
            ],
            "AWS endpoint (gateway)",
            f"{aws_url}/_redline/health",
        )
        runtime_argv = [
            "pipeline.local.runtime", "--env", str(env), "--aws-endpoint-url", aws_url,
            "--api-port", str(ports["api"]), "--lambda-port", str(ports["lambda"]),
            "--state-dir", str(state), "--log-dir", logs["functions"],
        ]  # fmt: skip
        for kind, handler in (handlers or {}).items():
            runtime_argv += ["--handler", f"{kind}={handler}"]
        runtime = start_part(
            RUNTIME,
            [*runtime_argv, *(runtime_args or [])],
            "Lambda runtime",
            f"{handle.lambda_endpoint_url}/_redline/health",
        )
        health = f"{handle.api_url}/health"
        _wait_until(
            lambda: _http_status(health) is not None,
            runtime,
            "HTTP API",
            Path(logs[RUNTIME]),
            timeout_s,
            health,
        )
        authorized = local_api_headers(  # the API's auth_type applies to /health too
            config.api.auth_type,
            "GET",
            health,
            config.aws_region,
            handle.lambda_endpoint_url,
            handle.token,
        )
        status = _http_status(health, timeout_s=30, headers=authorized)
        for _ in range(THROTTLED_HEALTH_RETRIES):  # 429: the route throttle, not the function
            if status != 429:
                break
            time.sleep(0.5)
            status = _http_status(health, timeout_s=30, headers=authorized)
        if status != 200:
            api_log = Path(logs["functions"]) / f"redline-api-{config.environment}.log"
            raise StackError(
                f"the HTTP API answers GET /health with {status}: the API function fails; "
                f"its log: {api_log}\n{_tail(api_log)}"
            )
    except BaseException:
        stop_stack(state)
        raise
    handle.api_id = api_id_for(config.environment)
    _write_state(state, handle)
    return handle


def _write_state(state: Path, handle: StackHandle) -> None:
    path = state / STACK_FILE
    temporary = path.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    # Readable by the user only: it holds the control routes' token.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(json.dumps(handle.to_json(), indent=2) + "\n")
    temporary.replace(path)


def stop_stack(
    handle_or_state_dir: StackHandle | Path | str = ".redline", timeout_s: float = STOP_TIMEOUT_S
) -> dict[str, str]:
    """Stop every process stack.json names (runtime first) and clear the state.

    Returns {part: what happened}; an empty dict when nothing was running.
    """
    if isinstance(handle_or_state_dir, StackHandle):
        state = Path(handle_or_state_dir.state_dir)
    else:
        state = Path(handle_or_state_dir).resolve()
    handle = read_stack(state)
    if handle is None:
        return {}
    outcome: dict[str, str] = {}
    for name in sorted(handle.pids, key=lambda n: n != RUNTIME):  # the runtime first
        pid = handle.pids[name]
        process = _CHILDREN.pop(pid, None)
        outcome[name] = _terminate(
            pid, handle.process_start_ticks.get(name) or None, timeout_s, process
        )
    with contextlib.suppress(FileNotFoundError):
        (state / STACK_FILE).unlink()
    return outcome


def stack_status(state_dir: Path | str = ".redline") -> dict[str, Any]:
    """What is running, the endpoints, and the runtime's own status when it answers."""
    handle = read_stack(state_dir)
    if handle is None:
        return {"running": False}
    parts = running_parts(handle)
    status: dict[str, Any] = {"running": all(parts.values()), "parts": parts, **handle.to_json()}
    status.pop("token", None)  # never echoed
    try:
        code, body = loopback.request(
            f"{handle.lambda_endpoint_url}/_redline/status", timeout_s=5, token=handle.token
        )
        status["runtime"] = json.loads(body) if code == 200 else None
    except (OSError, http.client.HTTPException, ValueError):
        status["runtime"] = None
    try:
        code, body = loopback.request(f"{handle.aws_endpoint_url}/_redline/scaling", timeout_s=5)
        status["scaling"] = json.loads(body) if code == 200 else None
    except (OSError, http.client.HTTPException, ValueError):
        status["scaling"] = None
    return status
