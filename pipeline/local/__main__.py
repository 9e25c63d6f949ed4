"""`python -m pipeline.local up|down|status|logs`: the local stack from the command line.

make wraps it: `make up [ENV=dev]`, `make down`, `make status`, `make logs`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.config import EnvironmentConfigError
from pipeline.local.runtime.app import handler_override
from pipeline.local.scaling_status import scaling_lines
from pipeline.local.stack import (
    GATEWAY,
    RUNTIME,
    StackError,
    read_stack,
    stack_status,
    start_stack,
    stop_stack,
)


def _print_endpoints(handle) -> None:
    print(f"  AWS endpoint   {handle.aws_endpoint_url}   (AWS_ENDPOINT_URL)")
    print(f"  HTTP API       {handle.api_url}   (GET /events/<id>, /events?type=..., /health)")
    print(f"  Lambda invoke  {handle.lambda_endpoint_url}   (boto3 lambda endpoint_url)")
    print(f"  logs           {Path(handle.logs[GATEWAY]).parent}")
    print(f"  state          {Path(handle.state_dir) / 'stack.json'}")


def _up(args) -> int:
    try:
        handle = start_stack(
            env=args.env,
            state_dir=args.state_dir,
            timeout_s=args.timeout,
            handlers=dict(args.handler),
        )
    except (StackError, EnvironmentConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if handle.already_running:
        print(
            f"the local stack is already up (environment {handle.environment}, "
            f"pids {', '.join(f'{k} {v}' for k, v in handle.pids.items())}):"
        )
    else:
        print(f"local stack up (environment {handle.environment}):")
    _print_endpoints(handle)
    return 0


def _down(args) -> int:
    outcome = stop_stack(args.state_dir, timeout_s=args.timeout)
    if not outcome:
        print("the local stack is not running (nothing to stop)")
        return 0
    for part, what in outcome.items():
        print(f"  {part}: {what}")
    print("local stack down")
    return 0


def _status(args) -> int:
    status = stack_status(args.state_dir)
    if args.json:
        print(json.dumps(status, indent=2, default=str))
        return 0 if status.get("running") else 3
    if not status.get("running") and "parts" not in status:
        print("the local stack is not running (`make up` starts it)")
        return 0
    for part, alive in status["parts"].items():
        state = "running" if alive else "NOT running"
        print(f"  {part:8} pid {status['pids'][part]:<8} {state}   log {status['logs'][part]}")
    handle = read_stack(args.state_dir)
    if handle is not None:
        _print_endpoints(handle)
    runtime = status.get("runtime")
    if runtime:
        for name, stats in runtime["functions"].items():
            print(
                f"  {name}: {stats['invocations']} invocations, {stats['errors']} errors, "
                f"{stats['throttles']} throttles, {stats['running']} running"
            )
        for shard, stats in runtime["event_source_mapping"].items():
            print(
                f"  {shard}: {stats['records_read']} read, {stats['records_succeeded']} "
                f"processed, {stats['records_sent_on_failure']} to the on-failure queue, "
                f"iterator age {stats['last_iterator_age_ms']:.0f} ms"
            )
    for line in scaling_lines(status.get("scaling")):
        print(f"  {line}")
    if not status["running"]:
        print("a part of the stack has stopped: see its log above; `make down` clears the state")
        return 1
    return 0


def _logs(args) -> int:
    handle = read_stack(args.state_dir)
    base = Path(handle.logs[GATEWAY]).parent if handle else Path(args.state_dir) / "logs" / "latest"
    if not base.exists():
        print(f"no logs under {base} (`make up` writes them)", file=sys.stderr)
        return 1
    files = [
        base / f"{GATEWAY}.log",
        base / f"{RUNTIME}.log",
        *sorted((base / "functions").glob("*.log")),
    ]
    for path in files:
        if args.part and args.part not in path.name:
            continue
        if not path.exists():
            continue
        print(f"==> {path} <==")
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        print("\n".join(lines[-args.lines :]))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.local", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=Path(".redline"))
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the local stack in the background")
    up.add_argument("--env", default="local", help="environment name or .tfvars.json path")
    up.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for each part")
    up.add_argument(
        "--handler",
        type=handler_override,
        action="append",
        default=[],
        help="replace a function's handler: <ingest|api|forwarder>=<module.function>",
    )
    up.set_defaults(run=_up)
    down = commands.add_parser("down", help="stop the processes `up` started")
    down.add_argument("--timeout", type=float, default=10.0, help="seconds before SIGKILL")
    down.set_defaults(run=_down)
    status = commands.add_parser("status", help="what runs, the endpoints, the counters")
    status.add_argument("--json", action="store_true")
    status.set_defaults(run=_status)
    logs = commands.add_parser("logs", help="the last lines of every log of the running stack")
    logs.add_argument("part", nargs="?", help="only logs whose file name contains this")
    logs.add_argument("-n", "--lines", type=int, default=40)
    logs.set_defaults(run=_logs)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
