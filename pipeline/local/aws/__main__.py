"""Run the local AWS gateway alone: `python -m pipeline.local.aws --help`."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from pipeline import aws_limits
from pipeline.local.aws.auth import AuthSettingError
from pipeline.local.aws.engines import EngineError
from pipeline.local.aws.server import serve
from pipeline.local.guard import TOKEN_ENV, new_token

TOKEN_FILE = "control-token"  # noqa: S105 - a file name; in --state-dir, when the token does not come from the environment

DEFAULT_PORT = 4566
ENGINE_CHECK_INTERVAL_S = 1.0


def _port_from_env() -> int:
    raw = os.environ.get("REDLINE_AWS_PORT", str(DEFAULT_PORT))
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        sys.exit(
            f"error: REDLINE_AWS_PORT={raw!r} is not a port number (0-65535; 0 = any free port)"
        )
    return int(raw)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.local.aws",
        description="Local AWS endpoint (Kinesis, DynamoDB, SQS, Secrets Manager, SSM, "
        "CloudWatch) on 127.0.0.1 that throttles where AWS throttles.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"port on 127.0.0.1 (default $REDLINE_AWS_PORT or {DEFAULT_PORT}; 0 = any free port)",
    )
    parser.add_argument(
        "--no-limits",
        action="store_true",
        help="lift every capacity limit (headroom measurements, runtime benchmarks)",
    )
    parser.add_argument(
        "--burst-seconds",
        type=float,
        default=aws_limits.DYNAMODB_BURST_SECONDS,
        help="DynamoDB burst capacity in seconds of provisioned throughput "
        f"(default {aws_limits.DYNAMODB_BURST_SECONDS}, AWS's; minimum 1)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".redline") / "aws",
        help="where engine logs go (default .redline/aws)",
    )
    args = parser.parse_args(argv)
    if args.port is None:
        args.port = _port_from_env()
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port}: expected 0-65535")
    if args.burst_seconds < 1:
        parser.error(f"--burst-seconds {args.burst_seconds}: expected 1 or more")
    return args


def control_token(state_dir: Path) -> str:
    """$REDLINE_CONTROL_TOKEN (the stack passes it), else a new one in <state-dir>/control-token
    (mode 0600) for the user to read."""
    token = os.environ.get(TOKEN_ENV)
    if token:
        return token
    token = new_token()
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / TOKEN_FILE
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(token + "\n")
    print(f"control routes need X-Redline-Token: the token is in {path}", file=sys.stderr)
    return token


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("REDLINE_GATEWAY_LOG_LEVEL", "WARNING"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        server, gateway = serve(
            args.port,
            not args.no_limits,
            args.burst_seconds,
            args.state_dir,
            token=control_token(args.state_dir),
        )
    except ValueError as exc:  # REDLINE_ALLOWED_ORIGINS
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(
                f"error: port {args.port} on 127.0.0.1 is already in use (another gateway or "
                "`make up`?): stop it, or pick another port with --port / REDLINE_AWS_PORT",
                file=sys.stderr,
            )
            return 1
        raise
    except (EngineError, AuthSettingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    failure: list[str] = []
    stopping = threading.Event()

    def watch_engines() -> None:
        while not stopping.wait(ENGINE_CHECK_INTERVAL_S):
            for engine in list(gateway.engines.values()):
                if not engine.stopped and not engine.alive:
                    failure.append(
                        f"error: engine {engine.service} exited with code "
                        f"{engine.process.returncode} (log {engine.log_path}); "
                        "restart the gateway"
                    )
                    server.shutdown()
                    return

    def on_signal(signum: int, _frame: object) -> None:
        stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threading.Thread(target=watch_engines, daemon=True, name="engine-watch").start()
    host, port = server.server_address[:2]
    limits = "off" if args.no_limits else f"on, DynamoDB burst {args.burst_seconds:g} s"
    print(f"ready http://{host}:{port} (limits {limits})", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        stopping.set()
        server.server_close()
        gateway.stop()
    if failure:
        print(failure[0], file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
