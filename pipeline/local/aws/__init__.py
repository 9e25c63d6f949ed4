"""The local AWS endpoint: `start_gateway()` runs it in its own process and returns a handle.

with start_gateway(port=0, burst_seconds=5) as gw:
    boto3.client("kinesis", endpoint_url=gw.endpoint_url, ...)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from pipeline import aws_limits
from pipeline.local import loopback
from pipeline.local.guard import TOKEN_ENV, new_token

START_TIMEOUT_S = 60.0


class GatewayError(RuntimeError):
    """The gateway could not start; the message is its own one-line reason."""


@dataclass
class GatewayHandle:
    process: subprocess.Popen
    endpoint_url: str
    state_dir: Path
    log_path: Path
    token: str = ""  # the control routes' token (X-Redline-Token)
    owns_state_dir: bool = False  # a temporary directory start_gateway made: removed on stop

    @property
    def port(self) -> int:
        return int(self.endpoint_url.rsplit(":", 1)[1])

    def control(self, method: str, route: str, timeout: float = 30.0) -> tuple[int, bytes]:
        """Call a control route, e.g. control("POST", "reset")."""
        return loopback.request(
            f"{self.endpoint_url}/_redline/{route}", method, timeout_s=timeout, token=self.token
        )

    def reset(self) -> None:
        status, body = self.control("POST", "reset")
        if status != 200:
            raise GatewayError(f"reset failed: HTTP {status} {body[:200]!r}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.owns_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> GatewayHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_gateway(
    port: int = 0,
    limits: bool = True,
    burst_seconds: float = aws_limits.DYNAMODB_BURST_SECONDS,
    state_dir: Path | str | None = None,
) -> GatewayHandle:
    """Start `python -m pipeline.local.aws` on 127.0.0.1:<port> (0 = a free port) and wait
    until it is ready. Its stderr goes to <state_dir>/gateway.log."""
    state = Path(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix="redline-aws-"))
    token = new_token()
    state.mkdir(parents=True, exist_ok=True)
    log_path = state / "gateway.log"
    argv = [
        sys.executable,
        "-m",
        "pipeline.local.aws",
        "--port",
        str(port),
        "--burst-seconds",
        str(burst_seconds),
        "--state-dir",
        str(state),
    ]
    if not limits:
        argv.append("--no-limits")
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own module, fixed argv
            argv,
            stdout=subprocess.PIPE,
            stderr=log,
            env={**os.environ, TOKEN_ENV: token},
            cwd=Path(__file__).resolve().parents[3],
        )
    line: list[str] = []
    first_line = threading.Event()

    def read_ready() -> None:
        assert process.stdout is not None
        line.append(process.stdout.readline().decode("utf-8", "replace").strip())
        first_line.set()
        for _ in process.stdout:  # keep the pipe drained
            pass

    threading.Thread(target=read_ready, daemon=True, name="gateway-stdout").start()
    first_line.wait(START_TIMEOUT_S)
    if not line or not line[0].startswith("ready "):
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
        errors = [
            ln for ln in log_path.read_text(errors="replace").splitlines() if ln.startswith("error")
        ]
        reason = errors[-1] if errors else f"no ready line within {START_TIMEOUT_S:.0f} s"
        raise GatewayError(f"gateway did not start: {reason} (log {log_path})")
    endpoint = line[0].split()[1]
    return GatewayHandle(
        process=process,
        endpoint_url=endpoint,
        state_dir=state,
        log_path=log_path,
        token=token,
        owns_state_dir=state_dir is None,
    )


__all__ = ["GatewayError", "GatewayHandle", "start_gateway"]
