"""`python -m pipeline.local.runtime`: run the local Lambda runtime in the foreground.

`make up` starts it in the background (pipeline.local.stack); run it alone against an AWS
endpoint (the local gateway, usually) with `--aws-endpoint-url`. Stops on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from pipeline.config import EnvironmentConfigError, load_environment
from pipeline.local.runtime.app import LambdaRuntime, RuntimeOptions, handler_override


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.local.runtime", description=__doc__)
    parser.add_argument(
        "--env",
        default=os.environ.get("ENV", "local"),
        help="environment name or path to a .tfvars.json (default: local)",
    )
    parser.add_argument("--aws-endpoint-url", required=True)
    parser.add_argument(
        "--api-port", type=int, default=int(os.environ.get("REDLINE_API_PORT", "8080"))
    )
    parser.add_argument(
        "--lambda-port", type=int, default=int(os.environ.get("REDLINE_LAMBDA_PORT", "4567"))
    )
    parser.add_argument("--state-dir", type=Path, default=Path(".redline"))
    parser.add_argument(
        "--log-dir",
        type=Path,
        default=None,
        help="where each function's log goes (default <state-dir>/logs/functions)",
    )
    parser.add_argument(
        "--handler",
        type=handler_override,
        action="append",
        default=[],
        help="replace a function's handler, e.g. ingest=tests.x.lambda_handler",
    )
    parser.add_argument(
        "--schedule-interval",
        type=float,
        default=60.0,
        help="seconds between scheduled forwarder runs (default 60)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load_environment(args.env)
    except EnvironmentConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    runtime = LambdaRuntime(
        RuntimeOptions(
            config=config,
            aws_endpoint_url=args.aws_endpoint_url,
            api_port=args.api_port,
            lambda_port=args.lambda_port,
            state_dir=args.state_dir,
            log_dir=args.log_dir,
            handlers=dict(args.handler),
            schedule_interval_s=args.schedule_interval,
        )
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        runtime.start()
    except Exception as exc:  # one line for `make up` to show, the traceback in the log
        logging.getLogger("pipeline.local.runtime").exception("start failed")
        print(f"error: the runtime could not start: {exc}", file=sys.stderr)
        runtime.stop()
        return 1
    logging.getLogger("pipeline.local.runtime").info(
        "runtime up: HTTP API http://127.0.0.1:%d, Lambda http://127.0.0.1:%d",
        args.api_port,
        args.lambda_port,
    )
    stop.wait()
    runtime.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
