"""`python -m loadtests run ...`: the orchestration behind `make loadtest`.

Start the target (or read its terraform outputs), run Locust in its own process(es), audit
for loss, fetch the window's CloudWatch metrics, judge the gates, write the run folder and
call the report builder; stop what it started, also on Ctrl-C or a crash.
Exit codes: 0 gates passed, 1 a gate failed, 2 bad input or unusable target, 3 the run broke,
130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, NoReturn

from loadtests import ci, folder, gates, read_capacity, scaling_run
from loadtests import timeline as tl
from loadtests import workers as workers_mod
from loadtests.caveats import table_knee_caveats
from loadtests.cost import STORED_ITEM_OVERHEAD_BYTES
from loadtests.options import SCENARIO_OPTIONS, help_for
from loadtests.pacing import calls_per_second
from loadtests.runconfig import (
    ACKED_PREFIX,
    CONFIG_ENV,
    CONTROLLER_RESULT,
    RUN_BOUND_MARGIN_S,
    RunConfig,
)
from loadtests.scenarios import DEFAULT_SCENARIO, SCENARIOS, Scenario, ScenarioError, resolve
from loadtests.search import GENERATOR_TOLERANCE
from loadtests.target import Target, TargetError
from pipeline import aws_limits, capacity
from pipeline.config import EnvironmentConfig, EnvironmentConfigError, load_environment
from reports import runfolder as rf

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
EXIT_OK, EXIT_GATES, EXIT_USAGE, EXIT_BROKEN, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
LOCUST_GRACE_S = 60.0  # beyond the scenario's own bound
WORKERS_JOIN_WAIT_S = 120  # --expect-workers-max-wait: workers that never connect end the run
REMOTE_WORKERS_JOIN_WAIT_S = 600  # other machines and Fargate tasks pull and start first
STACK_ITEM_OVERHEAD_BYTES = STORED_ITEM_OVERHEAD_BYTES  # what the stack adds to an event


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m loadtests", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario and write results/<run-id>/")
    run.add_argument(
        "--scenario",
        default=DEFAULT_SCENARIO,
        help=f"{', '.join(SCENARIOS)}; default: {DEFAULT_SCENARIO}",
    )
    run.add_argument(
        "--target",
        default="local",
        help="local (a private stack on free ports) or aws; default: local",
    )
    run.add_argument(
        "--env",
        default=None,
        help="environment name or .tfvars.json path; default: local (TARGET=local), dev (aws)",
    )
    run.add_argument(
        "--workers", type=int, default=1, help="Locust worker processes here, 1..64; default: 1"
    )
    run.add_argument(
        "--remote-workers",
        type=int,
        default=0,
        help="workers on other machines (TARGET=aws), connecting through an SSH tunnel,"
        " 0..256; default: 0",
    )
    run.add_argument(
        "--master-port",
        type=int,
        default=5557,
        help="the Locust master's port on 127.0.0.1 (remote workers); default: 5557",
    )
    run.add_argument(
        "--master-bind-host",
        default="127.0.0.1",
        help="address the master listens on for remote workers (a Fargate task: its ENI);"
        " default: 127.0.0.1",
    )
    run.add_argument(
        "--runner", default="local", help="local, or fargate (TARGET=aws); default: local"
    )
    run.add_argument(
        "--over-budget",
        action="store_true",
        help="RUNNER=fargate: run even when the predicted generator cost is over budget;"
        " default: refuse",
    )
    run.add_argument(
        "--on-worker-loss",
        default=workers_mod.DEFAULT_ON_WORKER_LOSS,
        help="a worker lost mid-run: fail (default) or continue with the rest",
    )
    run.add_argument(
        "--burst-seconds",
        type=float,
        default=None,
        help="TARGET=local: seconds of DynamoDB burst capacity in the local gateway, 1..300;"
        " default: AWS's 300",
    )
    run.add_argument(
        "--results",
        default=str(REPO_ROOT / rf.RESULTS_DIR),
        help="folder of the run folders; default: results/",
    )
    for dest, (flag, kind, _what) in SCENARIO_OPTIONS.items():
        run.add_argument(flag, dest=dest, type=kind, default=None, help=help_for(dest))
    add_your_pipeline_options(run)
    run.add_argument(
        "--ui",
        action="store_true",
        help="run with Locust's web UI on 127.0.0.1 (a free port, printed) and its Redline tab;"
        " default: headless",
    )
    sub.add_parser("scenarios", help="list the scenarios and their defaults")
    clean = sub.add_parser("clean-run", help="delete one TARGET=aws run's items from the table")
    clean.add_argument("run", help="the run id (a folder under --results) or its folder")
    clean.add_argument(
        "--results",
        default=str(REPO_ROOT / rf.RESULTS_DIR),
        help="folder of the run folders; default: results/",
    )
    summary = sub.add_parser(
        "ci-summary", help="write junit.xml (and the GitHub job summary when CI) of a run folder"
    )
    summary.add_argument("run_dir", type=Path)
    return parser


def add_your_pipeline_options(run: argparse.ArgumentParser) -> None:
    """Your own handlers and stack, and the safety of a TARGET=aws run (loadtests/preflight)."""
    from pipeline.local.runtime.app import handler_override

    run.add_argument(
        "--handler",
        type=handler_override,
        action="append",
        default=[],
        help="TARGET=local: replace a function's handler, <ingest|api>=<module.function>"
        " (repeatable; the same switch as `make up`); default: Redline's handlers",
    )
    run.add_argument(
        "--records",
        default="",
        help="a record generator hook, module:function, returning (partition_key, data bytes,"
        " id) per record (default: loadtests.records:redline_events, Redline's events)",
    )
    run.add_argument(
        "--replay",
        default=None,
        help="replay real traffic from a file: JSON lines of {partition_key, data} or Kinesis"
        " records {PartitionKey, Data (base64)} or GetRecords answers, looped; default: none",
    )
    run.add_argument(
        "--outputs",
        default=None,
        help="TARGET=aws: a JSON file naming your stack (stream_name, table_name required;"
        " api_url, dead_letter_queue_url, kms_key_arn, region optional);"
        " default: terraform/<env>.outputs.json or `terraform output -json`",
    )
    run.add_argument(
        "--yes",
        action="store_true",
        help="TARGET=aws: accept the printed cost estimate without asking (CI)",
    )
    run.add_argument(
        "--budget",
        type=float,
        default=None,
        help="TARGET=aws: refuse (exit 2) a run whose estimated worst case costs more, USD;"
        " default: none",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="TARGET=aws: print the cost estimate and the IAM policy, then stop",
    )
    run.add_argument(
        "--prices",
        default=None,
        help="a price file laid over reports/prices.json for the estimate (default: none)",
    )


OVERRIDES = list(SCENARIO_OPTIONS)


def users_per_process(scenario: Scenario, workers: int, peak_rate: float) -> dict[str, int]:
    """Enough concurrency for the peak rate: users wait for slots, they do not set the rate."""
    users: dict[str, int] = {}
    if scenario.mix != "read":
        calls = calls_per_second(peak_rate / workers, scenario.batch_size)
        users["KinesisProducerUser"] = min(max(math.ceil(calls * 1.5) + 2, 4), 300)
        if scenario.probe_rate > 0:
            users["EndToEndProbeUser"] = min(math.ceil(scenario.probe_rate / workers * 15) + 1, 50)
    if scenario.mix != "ingest":
        peak_reads = scenario.read_rate * (
            scenario.spike_multiplier if scenario.shape == "spike" else 1
        )
        users["ApiReaderUser"] = min(max(math.ceil(peak_reads / workers * 0.5) + 2, 2), 200)
        if read_capacity.is_read_search(scenario):  # a reader waits for its answer: 2 s each
            users["ApiReaderUser"] = min(math.ceil(peak_rate / workers * 2) + 2, 200)
    return users


def estimated_capacity(environment: EnvironmentConfig, scenario: Scenario) -> float:
    """What the environment file should carry (records/s): seeds the search, never the answer."""
    shard_rate = stream_capacity(environment, scenario)
    table = environment.table
    if table.billing_mode.value == "PROVISIONED":
        units = capacity.write_units(scenario.record_bytes + STACK_ITEM_OVERHEAD_BYTES)
        wcu = min(table.write_capacity, table.type_index.write_capacity)
        return max(min(shard_rate, wcu / units), 1.0)
    return shard_rate


def table_plan(
    environment: EnvironmentConfig, scenario: Scenario, table_name: str, args, limits_emulated: bool
) -> dict[str, Any] | None:
    """A capacity search whose provisioned table can bind spends its burst credit first."""
    from loadtests import table_knee

    table = environment.table
    if scenario.shape != "capacity":
        return None
    burst_s = (args.burst_seconds or aws_limits.DYNAMODB_BURST_SECONDS) if limits_emulated else 300
    plan = table_knee.plan_for(
        table_name,
        table.billing_mode.value == "PROVISIONED",
        min(table.write_capacity, table.type_index.write_capacity),
        capacity.write_units(scenario.record_bytes + STACK_ITEM_OVERHEAD_BYTES),
        stream_capacity(environment, scenario),
        burst_s,
        1 if limits_emulated else 60,
    )
    return plan.to_dict() if plan else None


def stream_capacity(environment: EnvironmentConfig, scenario: Scenario) -> float:
    """The records/s the stream's shards take (the hot shard's share for a hot key)."""
    shards = environment.stream.shard_count
    shard_rate = shards * 1000.0
    record = scenario.record_bytes + 24
    shard_rate = min(shard_rate, shards * 1024 * 1024 / record)
    if scenario.key_strategy == "hot":
        shard_rate = min(
            shard_rate, 1000.0 / (scenario.hot_key_share + (1 - scenario.hot_key_share) / shards)
        )
    return shard_rate


def peak_rate(scenario: Scenario, start_rate: float) -> float:
    if read_capacity.is_read_search(scenario):
        return min(read_capacity.ceiling(scenario), start_rate * 4)
    if scenario.shape == "capacity":
        return min(scenario.rate, start_rate * 4)
    if scenario.shape == "spike":
        return scenario.rate * scenario.spike_multiplier
    return scenario.rate


def worker_argv(master_port: int, master_host: str = "127.0.0.1") -> list[str]:
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--worker",
        "--master-host",
        master_host,
        "--master-port",
        str(master_port),
    ]


def web_ui_args(port: int) -> list[str]:
    """Locust's web UI on loopback instead of --headless; the shape starts the run at once.
    No --autoquit: the UI stays open for the audit and another start until the user quits."""
    return ["--autostart", "--web-host", "127.0.0.1", "--web-port", str(port)]


def free_port() -> int:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_locust(
    config: RunConfig,
    config_path: Path,
    bound_s: float,
    remote_workers: int = 0,
    master_port: int = 5557,
    web_port: int | None = None,
    master_bind_host: str = "127.0.0.1",
) -> int:
    run_dir = Path(config.run_dir)
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        *(web_ui_args(web_port) if web_port else ["--headless", "--only-summary"]),
        "--csv",
        str(run_dir / rf.LOCUST_PREFIX),
        "--csv-full-history",
        "--html",
        str(run_dir / f"{rf.LOCUST_PREFIX}.html"),
        "--json-file",
        str(run_dir / rf.LOCUST_PREFIX),
        "--logfile",
        str(Path(config.work_dir) / "locust.log"),
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
        "--stop-timeout",
        "15",
    ]
    # The web UI bounds each start in the shape (Locust's --run-time would stop a later start)
    argv += [] if web_port else ["--run-time", f"{math.ceil(bound_s)}s"]
    local_workers = config.workers - remote_workers
    # Several workers: a master and separate worker processes over its real TCP port, the
    # same protocol as workers on other machines or Fargate tasks.
    distributed = remote_workers > 0 or config.workers > 1
    if distributed and not remote_workers:
        master_port = free_local_port()
    argv += master_argv(config.workers, remote_workers, master_port, master_bind_host)
    env = {**os.environ, CONFIG_ENV: str(config_path), "PYTHONUNBUFFERED": "1"}
    processes: list[subprocess.Popen] = []
    try:
        master = subprocess.Popen(argv, env=env, cwd=REPO_ROOT, start_new_session=True)  # noqa: S603
        processes.append(master)
        if web_port and _listening(web_port, master):
            print(
                f"==> Locust web UI: http://127.0.0.1:{web_port} (the Redline tab shows the"
                " run live, then each start's loss audit; Ctrl+C here quits and builds the"
                " report)",
                flush=True,
            )
        for _ in range(local_workers if distributed else 0):
            processes.append(
                subprocess.Popen(  # noqa: S603
                    worker_argv(master_port), env=env, cwd=REPO_ROOT, start_new_session=True
                )
            )
        if distributed:
            pids = " ".join(str(p.pid) for p in processes[1:]) or "-"
            print(
                f"==> Locust master pid {master.pid} on 127.0.0.1:{master_port},"
                f" local worker pids {pids}",
                flush=True,
            )
        if remote_workers:
            print(
                f"==> waiting for {remote_workers} remote worker(s): on each worker machine,"
                f" with `ssh -N -L {master_port}:127.0.0.1:{master_port} <this host>` open and"
                f" {config_path} copied there, run:\n    {CONFIG_ENV}=<copy of config.json> "
                + " ".join(worker_argv(master_port)[1:]),
                flush=True,
            )
        # the web UI runs until the user quits it (Ctrl+C); each start is bounded in the shape
        code = master.wait(timeout=None if web_port else bound_s + LOCUST_GRACE_S)
        for worker in processes[1:]:
            worker.wait(timeout=30)
        return code
    except subprocess.TimeoutExpired:
        print("error: Locust did not stop in time; stopping it", file=sys.stderr, flush=True)
        return EXIT_BROKEN
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the load (the run folder keeps what was measured)")
        raise
    finally:
        for process in processes:
            if process.poll() is None:
                _stop_group(process)


def master_argv(
    workers: int, remote_workers: int, master_port: int, bind_host: str = "127.0.0.1"
) -> list[str]:
    """Locust's master flags ([] for one process). The master binds 127.0.0.1 unless the user
    names another address for remote workers: on every interface anyone on the network could
    join the run as a worker and inject timeline data and acknowledged ids (docs/security.md)."""
    if not (remote_workers > 0 or workers > 1):
        return []
    join_wait = REMOTE_WORKERS_JOIN_WAIT_S if remote_workers else WORKERS_JOIN_WAIT_S
    return [
        *("--master", "--master-bind-host", bind_host, "--master-bind-port", str(master_port)),
        *("--expect-workers", str(workers), "--expect-workers-max-wait", str(join_wait)),
    ]


def free_local_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int, process: subprocess.Popen, timeout_s: float = 120.0) -> bool:
    """Whether the web UI accepts connections (so the address printed works when clicked);
    False when Locust exits first or the timeout passes, and then its own error is the news."""
    deadline = time.monotonic() + timeout_s
    while process.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return True
        time.sleep(0.2)
    return False


def _stop_group(process: subprocess.Popen) -> None:
    """Stop the Locust processes this run started (its own process group), gently first.

    SIGINT's grace covers Locust's --stop-timeout (15 s for users mid-task) and then its
    quitting listeners, which write timeline.csv and the controller's result: on a busy
    2-core machine 20 s was sometimes too short, and a killed master left no timeline."""
    for sig, wait in ((signal.SIGINT, 45), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _versions(target: Target) -> dict[str, str]:
    # Never `import locust` here: it monkeypatches this process with gevent.
    versions = {
        "redline": _package_version("redline"),
        "python": platform.python_version(),
        "locust": _package_version("locust"),
        "boto3": _package_version("boto3"),
        "hdrhistogram": _package_version("hdrhistogram"),
    }
    engines = target.info.get("versions") or target.info.get("engines")
    if isinstance(engines, dict):
        versions.update({str(k): str(v) for k, v in engines.items()})
    return versions


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def _per_second(run_dir: Path, request_types: tuple[str, ...], column: str) -> dict[int, int]:
    path = run_dir / rf.TIMELINE_CSV
    seconds: dict[int, int] = defaultdict(int)
    if not path.exists():
        return seconds
    import csv

    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["request_type"] in request_types and row[column]:
                seconds[int(row["timestamp"])] += int(row[column])
    return seconds


def _forward_complete_minutes(target: Target) -> None:
    """Invoke the local forwarder once so every complete minute of the run is in its payloads
    (its schedule would only get there a minute or two later)."""
    url = target.info.get("lambda_endpoint_url") if target.name == "local" else None
    if not url:
        return
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "lambda",
        endpoint_url=url,
        region_name=target.environment.aws_region,
        config=Config(retries={"total_max_attempts": 1}, read_timeout=90),
    )
    name = f"redline-forwarder-{target.environment.environment}"
    try:
        answer = client.invoke(FunctionName=name, Payload=b"{}")
        if answer.get("FunctionError"):
            print(f"warning: the forwarder failed: {answer['Payload'].read()[:300]!r}")
    except Exception as exc:  # the run's results stand without New Relic's copy
        print(f"warning: could not invoke {name}: {exc}")


def _copy_newrelic_payloads(target: Target, run_dir: Path, start: float, end: float) -> None:
    """Copy the forwarder's bodies into the run folder, keeping each body's minute blocks
    that overlap the run window (a body's `common.timestamp` is its minute's start)."""
    if target.state_dir is None:
        return
    source = target.state_dir / rf.NEWRELIC_PAYLOADS
    if not source.exists():
        return
    kept = []
    for line in source.read_text(encoding="utf-8").splitlines():
        try:
            blocks = [
                block
                for block in json.loads(line)
                if start - 60 < block["common"]["timestamp"] / 1000 < end
            ]
        except (ValueError, KeyError, AttributeError, TypeError):
            continue
        if blocks:
            kept.append(json.dumps(blocks, separators=(",", ":")))
    if kept:
        (run_dir / rf.NEWRELIC_PAYLOADS).write_text("\n".join(kept) + "\n", encoding="utf-8")


def _copy_logs(target: Target | None, run_dir: Path, work_dir: Path) -> None:
    """Locust's log and, once the stack has stopped, every log of the stack's run."""
    logs = run_dir / rf.LOGS_DIR
    logs.mkdir(exist_ok=True)
    locust_log = work_dir / "locust.log"
    if locust_log.exists():
        shutil.copy2(locust_log, logs / "locust.log")
    if target is None or target.state_dir is None:
        return
    stack_logs = target.state_dir / "logs"
    for run_logs in sorted(p for p in stack_logs.glob("*") if p.is_dir() and not p.is_symlink()):
        shutil.copytree(run_logs, logs, dirs_exist_ok=True)


def build_report(run_dir: Path) -> str | None:
    """Call the report builder when it exists; it overwrites report.md with the full report."""
    if importlib.util.find_spec("reports.__main__") is None:
        return None
    completed = subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "reports", "build", str(run_dir)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0:
        detail = (completed.stderr or completed.stdout).strip().splitlines()
        return "report builder failed: " + (
            detail[-1] if detail else f"exit {completed.returncode}"
        )
    return None


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "scenarios":
        for scenario in SCENARIOS.values():
            print(f"{scenario.name:<9} {scenario.description}")
            print(
                f"          mix={scenario.mix} shape={scenario.shape} rate={scenario.rate:g}"
                f" read_rate={scenario.read_rate:g} duration={scenario.duration_s:g}s"
            )
        return EXIT_OK
    if args.command == "clean-run":
        return _clean_run(args)
    if args.command == "ci-summary":
        if not (args.run_dir / rf.SUMMARY_JSON).exists():
            print(
                f"error: {args.run_dir} has no {rf.SUMMARY_JSON}: not a finished run",
                file=sys.stderr,
            )
            return EXIT_USAGE
        print(ci.publish(args.run_dir))
        return EXIT_OK
    return run(args)


def _clean_run(args: argparse.Namespace) -> int:
    from loadtests import cleanup

    try:
        print(cleanup.clean_run(cleanup.run_folder(Path(args.results), args.run)))
    except cleanup.CleanupError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _one_line(message: str) -> str:
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


def run(args: argparse.Namespace) -> int:
    overrides = {name: getattr(args, name) for name in OVERRIDES}
    try:
        scenario = resolve(args.scenario, overrides)
        if args.target not in ("local", "aws"):
            raise ScenarioError(f"TARGET must be local or aws, got {args.target!r}")
        if args.runner not in ("local", "fargate"):
            raise ScenarioError(f"RUNNER must be local or fargate, got {args.runner!r}")
        if args.runner == "fargate" and args.target != "aws":
            raise ScenarioError("RUNNER=fargate needs TARGET=aws")
        if args.workers == 0 and args.remote_workers > 0:
            pass  # a master for remote workers only (a Fargate master task)
        elif args.workers < 1 or args.workers > 64:
            raise ScenarioError(f"WORKERS must be 1..64, got {args.workers}")
        if args.remote_workers < 0 or args.remote_workers > 256:
            raise ScenarioError(f"REMOTE_WORKERS must be 0..256, got {args.remote_workers}")
        if args.burst_seconds is not None and not 1 <= args.burst_seconds <= 300:
            raise ScenarioError(f"BURST_SECONDS must be 1..300, got {args.burst_seconds:g}")
        workers_mod.check_on_worker_loss(args.on_worker_loss)
        if args.remote_workers and args.target != "aws":
            raise ScenarioError("REMOTE_WORKERS needs TARGET=aws (the local stack is on 127.0.0.1)")
        env_name = args.env or ("local" if args.target == "local" else "dev")
        environment = load_environment(env_name)
        scenario = _preflight(args, scenario, env_name, environment)
    except (ScenarioError, EnvironmentConfigError, ValueError) as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except _PreflightStop as stop:
        return stop.code

    # A shell starts background jobs with SIGINT ignored and children inherit it: then neither
    # this run nor its Locust would stop gracefully on `kill -INT` (Python installs
    # KeyboardInterrupt only over the default disposition). A handler is reset on exec, so
    # Locust and the stack start with the default again.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return _run_started(args, scenario, env_name, environment)
    finally:
        signal.signal(signal.SIGINT, previous_int)


def _run_started(
    args: argparse.Namespace, scenario: Scenario, env_name: str, environment: EnvironmentConfig
) -> int:
    if args.runner == "fargate":
        from loadtests import fargate

        return fargate.main_from_args(args, env_name, environment, scenario.duration_s + 60.0)
    previous_term = signal.signal(signal.SIGTERM, _raise_interrupt)
    started: list[Target] = []  # what this run started, stopped in `finally` whatever happens
    work_root = REPO_ROOT / ".redline" / "loadtests"
    work_root.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix="run-", dir=work_root))
    run_dirs: list[Path] = []
    try:
        return _run(args, scenario, env_name, environment, started.append, work_dir, run_dirs)
    except (TargetError, EnvironmentConfigError) as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        for target in started:
            # stdout may be gone (the parent that read it died): stop the stack all the same
            with contextlib.suppress(OSError):
                print(f"==> stopping the {target.name} stack this run started", flush=True)
            target.stop()
        for run_dir in run_dirs:
            _copy_logs(started[0] if started else None, run_dir, work_dir)
        shutil.rmtree(work_dir, ignore_errors=True)  # scratch: acked ids, config, stack state
        signal.signal(signal.SIGTERM, previous_term)


class _PreflightStop(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def _preflight(
    args: argparse.Namespace, scenario: Scenario, env_name: str, environment: EnvironmentConfig
) -> Scenario:
    """Before anything starts: your handlers exist; a TARGET=aws run is priced and confirmed."""
    from loadtests import preflight
    from loadtests.cost import CostError
    from loadtests.outputs import OutputsError
    from loadtests.records import REPLAY_FILE_ENV, REPLAY_HOOK, RecordHookError, try_hook
    from reports.prices import PricesError

    args.aws_endpoints = None
    try:
        if args.handler and args.target != "local":
            raise ScenarioError("--handler needs TARGET=local (on AWS the deployed code runs)")
        for kind, handler in args.handler:
            preflight.check_handler(kind, handler)
        if args.replay:
            if args.records:
                raise ScenarioError("--replay and --records are two sources: choose one")
            os.environ[REPLAY_FILE_ENV] = str(Path(args.replay).resolve())  # Locust inherits it
            args.records = REPLAY_HOOK
        if args.records:
            try_hook(args.records, scenario.record_bytes, scenario.event_types)
        if args.target != "aws":
            if args.outputs or args.dry_run:
                raise ScenarioError("--outputs and --dry-run need TARGET=aws")
            return scenario
        plan = preflight.plan_aws(
            preflight.stack_outputs(args.outputs, env_name), scenario, environment, args.prices
        )
        if not preflight.announce_and_confirm(plan, args.budget, args.yes, args.dry_run):
            raise _PreflightStop(EXIT_OK)
    except (
        preflight.PreflightError,
        RecordHookError,
        CostError,
        OutputsError,
        PricesError,
        TargetError,
    ) as exc:
        raise ScenarioError(str(exc)) from None
    except EOFError:
        raise ScenarioError("not confirmed (no answer): nothing was started") from None
    args.aws_endpoints = plan.endpoints
    return plan.scenario


def _raise_interrupt(_signum: int, _frame: Any) -> NoReturn:
    raise KeyboardInterrupt


def _start_target(
    args, env_name: str, environment: EnvironmentConfig, work_dir: Path, started
) -> Target:
    from loadtests import target as targets

    if args.target == "local":
        print(f"==> starting the local stack (environment {env_name}, free ports)", flush=True)
        gateway_args = (
            ["--burst-seconds", f"{args.burst_seconds:g}"] if args.burst_seconds else None
        )
        # The stack's CloudWatch holds a second's data at once: the forwarder need not wait
        # AWS's minute for late datapoints before it sends a complete minute.
        os.environ.setdefault("FORWARDER_SETTLE_SECONDS", "5")
        stack = targets.start_local(
            env_name, work_dir / "stack", gateway_args, handlers=dict(args.handler)
        )
        started(stack)
        stack.info["unauthorized_probe_status"] = targets.check_reachable(
            stack.endpoints, local=True
        )
        return stack
    endpoints = args.aws_endpoints or targets.aws_endpoints(
        targets.terraform_outputs(env_name), environment
    )
    probe = targets.check_reachable(endpoints, local=False)
    return Target("aws", endpoints, environment, False, info={"unauthorized_probe_status": probe})


def _run(
    args,
    scenario: Scenario,
    env_name: str,
    environment: EnvironmentConfig,
    started,
    work_dir: Path,
    run_dirs: list[Path],
) -> int:
    results_dir = Path(args.results)
    target = _start_target(args, env_name, environment, work_dir, started)
    if target.endpoints.api_auth != "NONE":
        print(
            f"==> API auth {target.endpoints.api_auth}: a request without credentials was "
            f"refused (HTTP {target.info.get('unauthorized_probe_status')}); readers "
            + ("sign each request" if target.endpoints.api_auth == "AWS_IAM" else "send a JWT"),
            flush=True,
        )

    run_id, run_dir = folder.create(results_dir, scenario.name)
    run_dirs.append(run_dir)
    estimate = estimated_capacity(environment, scenario)
    start_rate = scenario.search.start_rate or min(0.6 * estimate, scenario.rate)
    if read_capacity.is_read_search(scenario):
        start_rate = read_capacity.start_rate(environment, scenario)
    workers = args.workers + args.remote_workers
    config = RunConfig(
        run_id=run_id,
        run_dir=str(run_dir),
        work_dir=str(work_dir),
        scenario=scenario,
        endpoints=target.endpoints,
        target=target.name,
        workers=workers,
        users=users_per_process(scenario, workers, peak_rate(scenario, start_rate)),
        start_rate=start_rate,
        cloudwatch_in_loop=target.limits_emulated,
        records=args.records,
        on_worker_loss=args.on_worker_loss,
        health_checks=health_checks(target, run_dir),
        stack_logs=str(Path(target.info["logs"]["gateway"]).parent) if target.info else "",
        audit=environment.audit.model_dump(),
        table_plan=table_plan(
            environment, scenario, target.endpoints.table_name, args, target.limits_emulated
        ),
    )
    config_path = work_dir / "config.json"
    config_path.write_text(config.to_json(), encoding="utf-8")
    run_json: dict[str, Any] = {
        "run_id": run_id,
        "scenario": scenario.name,
        "target": target.name,
        "environment_name": env_name,
        "environment": environment.model_dump(mode="json"),
        "options": {
            **scenario.to_dict(),
            "workers": workers,
            "users_per_process": config.users,
            "start_rate": start_rate,
            "estimated_capacity": estimate,
            "records": args.records or "loadtests.records:redline_events",
            "handlers": dict(args.handler),
        },
        "started_at": folder.iso(time.time()),
        "ended_at": None,
        "duration_s": 0.0,
        "versions": _versions(target),
        "limits_emulated": target.limits_emulated,
        "endpoints": {k: v for k, v in target.endpoints.__dict__.items() if v},
        "stack_pids": target.info.get("pids", {}),  # what `make loadtest` started (local)
        # The API's auth and what it answered one request without credentials (401/403 when
        # auth is enforced): the run's readers sign or carry a token.
        "api_auth": {
            "auth_type": target.endpoints.api_auth,
            "unauthorized_probe_status": target.info.get("unauthorized_probe_status"),
        },
    }
    folder.write_json(run_dir / rf.RUN_JSON, run_json)
    folder.point_latest(results_dir, run_dir)
    print(
        f"==> run {run_id}: scenario {scenario.name} ({scenario.shape}, {scenario.mix}),"
        f" target {target.name}, {workers} worker process(es)"
        + (f", search from {start_rate:.0f} records/s" if scenario.shape == "capacity" else ""),
        flush=True,
    )
    started_at = time.time()
    bound = scenario.duration_s + RUN_BOUND_MARGIN_S
    if config.table_plan:  # the burst phase, then spending and catching up before each probe
        bound += config.table_plan["burst_deadline_s"] + scenario.duration_s * 3 + 360
    interrupted = False
    resharder = scaling_run.start_resharder(target.endpoints, scenario)
    try:
        web_port = free_port() if args.ui else None
        locust_code = run_locust(
            config,
            config_path,
            bound,
            args.remote_workers,
            args.master_port,
            web_port,
            args.master_bind_host,
        )
    except KeyboardInterrupt:
        # Ctrl+C is how the web UI is quit: whether the plan ended is the controller's to say
        interrupted, locust_code = not args.ui, EXIT_INTERRUPTED
    return finalize(
        config,
        target,
        run_json,
        run_dir,
        results_dir,
        started_at,
        locust_code,
        interrupted,
        resharder,
    )


def health_checks(target: Target, run_dir: Path) -> list[dict[str, str]]:
    """What the controller asks every few seconds: the local stack's gateway (and through it
    each engine) and runtime, or the deployed API's health route. The local API is left out:
    a throttled API function answers 5xx too, and the runtime's health covers its process."""
    from loadtests.health import API, GATEWAY, RUNTIME

    if target.name != "local" or not target.info:
        return [{"part": API, "url": f"{target.endpoints.api_url}/health"}]
    logs = run_dir / rf.LOGS_DIR
    return [
        {
            "part": GATEWAY,
            "url": f"{target.info['aws_endpoint_url']}/_redline/health",
            "log": str(logs / "gateway.log"),
            "live_log": target.info["logs"]["gateway"],
        },
        {
            "part": RUNTIME,
            "url": f"{target.info['lambda_endpoint_url']}/_redline/health",
            "log": str(logs / "runtime.log"),
            "live_log": target.info["logs"]["runtime"],
        },
    ]


def finalize(
    config: RunConfig,
    target: Target,
    run_json: dict[str, Any],
    run_dir: Path,
    results_dir: Path,
    started_at: float,
    locust_code: int,
    interrupted: bool,
    resharder: scaling_run.Resharder | None = None,
) -> int:
    from loadtests import audit as audits
    from loadtests import cloudwatch, kinesis_shards

    scenario = config.scenario
    work_dir = Path(config.work_dir)
    result_path = work_dir / CONTROLLER_RESULT
    controller = json.loads(result_path.read_text("utf-8")) if result_path.exists() else {}
    # Stop pressed in the web UI (UI=1): the plan did not complete, as after Ctrl-C
    interrupted = interrupted or bool(controller.get("interrupted") and not controller.get("error"))
    window_start = controller.get("started_at") or started_at
    window_end = controller.get("ended_at") or time.time()
    problems: list[str] = []
    if controller.get("error"):
        problems.append(controller["error"])
    if locust_code not in (0, EXIT_INTERRUPTED):
        problems.append(f"Locust exited with code {locust_code}")

    audit_result = None
    schema = target.environment.audit
    if not schema.enabled:
        print("==> not audited: audit.enabled is false in the environment file")
    elif (run_dir / rf.AUDIT_JSON).exists():  # the web UI audited the last start (ui_audit)
        print("==> audited in the web UI: the last start's audit.json")
        audit_result = audits.AuditResult(**json.loads((run_dir / rf.AUDIT_JSON).read_text()))
        if target.name == "aws":  # what `make clean-run RUN=<id>` deletes, by key
            from loadtests.cleanup import save_acked_ids

            save_acked_ids(run_dir, audits.read_acked(work_dir)[0])
    elif any(work_dir.glob(f"{ACKED_PREFIX}*")):
        if interrupted or controller.get("error"):
            print("==> stopped early: skipping the drain wait, auditing what is stored now")
        else:
            print(
                "==> auditing for loss (waiting for the consumer while it makes progress:"
                f" up to {scenario.drain_timeout_s:.0f} s without, {audits.DRAIN_LIMIT_S:.0f} s"
                " in all)"
            )
        try:
            audit_result = audits.run_audit(
                config.endpoints,
                work_dir,
                prefix=f"{config.run_id}.",
                # a broken target will not drain: audit what is stored now
                drain_timeout_s=0.0
                if interrupted or controller.get("error")
                else scenario.drain_timeout_s,
                by_key=target.name == "aws",  # read only the run's items, never the table
                schema=schema,
                report=lambda line: print(line, flush=True),
            )
            folder.write_json(run_dir / rf.AUDIT_JSON, audit_result.to_dict())
            if target.name == "aws":  # what `make clean-run RUN=<id>` deletes, by key
                from loadtests.cleanup import save_acked_ids

                save_acked_ids(run_dir, audits.read_acked(work_dir)[0])
        except Exception as exc:
            problems.append(f"audit failed: {exc}")

    problems += scaling_run.finish(
        config.endpoints,
        scenario,
        bool(run_json["environment"]["table"]["autoscaling"]["enabled"]),
        run_dir,
        f"{config.run_id}.",
        window_start,
        window_end,
        resharder,
    )
    period = 1 if target.limits_emulated else 60
    cw_rows: list[dict[str, Any]] = []
    try:
        cw_rows = cloudwatch.fetch(config.endpoints, window_start, time.time(), period)
    except Exception as exc:
        problems.append(f"CloudWatch metrics not read: {exc}")
    folder.write_csv(run_dir / rf.CLOUDWATCH_CSV, rf.CLOUDWATCH_COLUMNS, cw_rows)
    try:
        shard_rows = kinesis_shards.fetch(config.endpoints, window_start, time.time(), period)
        folder.write_csv(run_dir / rf.KINESIS_SHARDS_CSV, rf.KINESIS_SHARDS_COLUMNS, shard_rows)
    except Exception as exc:  # evidence for the hot-shard verdict, not a reason to fail
        print(f"warning: shard-level Kinesis metrics not read: {exc}", flush=True)

    steps = controller.get("steps", [])
    probe_only = frozenset(
        {f"FunctionName={config.endpoints.api_function}"} if scenario.mix == "ingest" else ()
    )
    bottleneck = cloudwatch.bottleneck_of_steps(
        steps, cw_rows, probe_only
    ) or cloudwatch.first_throttled(
        [
            r
            for r in cw_rows
            if window_start - period <= r["timestamp"] <= window_end
            and r["dimensions"] not in probe_only
        ],
        _per_second(run_dir, (tl.PUT_RECORDS,), "throttled"),
        _per_second(run_dir, (tl.API_GET_EVENT, tl.API_QUERY), "throttled"),
    )
    read_search = read_capacity.is_read_search(scenario)
    if read_search:  # what the readers got back names it
        bottleneck = read_capacity.bottleneck(steps) or bottleneck
    bottleneck = labelled(with_hot_shard(bottleneck, run_dir))
    measures = controller.get("measures") or {}
    gate_results = gates.evaluate(
        scenario.gates,
        gates.RunMeasures(
            p95_ms=measures.get("p95_ms", 0.0),
            p99_ms=measures.get("p99_ms", 0.0),
            error_rate=measures.get("error_rate", 0.0),
            lost=audit_result.lost if audit_result else None,
            achieved_ratio=measures.get("achieved_ratio"),
        ),
    )
    generator_limited = any(s.get("generator_limited") for s in steps) or (
        scenario.shape != "capacity"
        and measures.get("offered_ratio", 1.0) < 1 - GENERATOR_TOLERANCE
    )
    knee = controller.get("knee_rps")
    passed = all(g.passed for g in gate_results) and not problems and not interrupted
    if scenario.shape == "capacity" and not knee and not controller.get("error"):
        problems.append("no rate was sustained: the knee is below the search's lowest probe")
        passed = False
    summary = {
        "knee_rps": knee,  # accepted records/s at the highest sustained probe
        "knee_unit": "requests/s" if read_search else "records/s",
        "knee_target_rps": controller.get("knee_target_rps"),
        "knee_offered_rps": controller.get("knee_offered_rps"),
        "broken": bool(problems),
        "bottleneck": bottleneck,
        "gates": [g.to_dict() for g in gate_results],
        "passed": passed,
        "lost": audit_result.lost if audit_result else None,
        "generator_limited": generator_limited,
        "measures": measures,
        "steps": steps,
        "interrupted": interrupted,
        "error": "; ".join(problems) or None,
        "caveats": table_knee_caveats(
            target.environment, bottleneck, target.name, bool(controller.get("table_burst"))
        ),
        "table_knee": _table_knee(config, controller, cw_rows, window_start, window_end),
        "workers": controller.get("workers"),
    }
    folder.write_json(run_dir / rf.SUMMARY_JSON, summary)
    ended = time.time()
    run_json.update(ended_at=folder.iso(ended), duration_s=round(ended - started_at, 1))
    folder.write_json(run_dir / rf.RUN_JSON, run_json)
    if not interrupted:
        _forward_complete_minutes(target)
    _copy_newrelic_payloads(target, run_dir, window_start, window_end)
    report = folder.plain_report(
        summary, audit_result.to_dict() if audit_result else None, run_json
    )
    (run_dir / rf.REPORT_MD).write_text(report, encoding="utf-8")
    report_problem = build_report(run_dir)
    ci.publish(run_dir)  # junit.xml; the job summary too under GitHub Actions
    print_summary(run_dir, summary, audit_result, report_problem)
    if interrupted:
        return EXIT_INTERRUPTED
    if problems:
        return EXIT_BROKEN
    return EXIT_OK if passed else EXIT_GATES


def _table_knee(
    config: RunConfig, controller: dict[str, Any], rows: list[dict], start: float, end: float
) -> dict[str, Any] | None:
    """Table-bound searches: the observed knee, the prediction beside it, the burst."""
    from loadtests import table_knee
    from loadtests.cloudwatch import TABLE_OVERSPEND
    from pipeline import metrics

    if not config.table_plan:
        return None
    table_dims = f"TableName={config.table_plan['table_name']}"
    in_run = [
        r
        for r in rows
        if start <= r["timestamp"] <= end
        and (r["dimensions"] == table_dims or r["metric"] == metrics.RECORDS_STORED.name)
    ]
    return table_knee.summary(
        config.table_plan,
        controller.get("knee_rps"),
        controller.get("table_burst"),
        in_run,
        metrics.RECORDS_STORED.name,
        controller.get("table_burst_note"),
        any(  # a probe failed on the prediction alone: nothing it did failed it
            (step.get("reasons") or "").startswith(TABLE_OVERSPEND) and ";" not in step["reasons"]
            for step in controller.get("steps") or []
            if not step.get("sustained")
        ),
    )


def with_hot_shard(bottleneck: dict[str, Any] | None, run_dir: Path) -> dict[str, Any] | None:
    """A Kinesis bottleneck on one shard names that shard and its share (shard-level metrics)."""
    from reports import shards

    if not bottleneck or not str(bottleneck.get("resource", "")).lower().startswith("kinesis"):
        return bottleneck
    hot = shards.hot_shard_of_run(run_dir)
    if hot is None:
        return bottleneck
    return {
        **bottleneck,
        "resource": "kinesis hot shard",
        "shard_id": hot.shard_id,
        "shard_share": round(hot.share, 4),
        "evidence": f"{bottleneck.get('evidence', '')}; {hot.evidence()}".lstrip("; "),
    }


def labelled(bottleneck: dict[str, Any] | None) -> dict[str, Any] | None:
    """Say whether the bottleneck was observed (something throttled) or predicted from
    configuration (a provisioned table needing more write units than it has, while its burst
    credit still carried the rate: nothing throttled)."""
    from loadtests.cloudwatch import TABLE_OVERSPEND

    if not bottleneck:
        return bottleneck
    predicted = TABLE_OVERSPEND in str(bottleneck.get("reasons", "")) and str(
        bottleneck.get("metric", "")
    ).endswith("ConsumedWriteCapacityUnits")
    return {
        **bottleneck,
        "observed": not predicted,
        **(
            {
                "basis": "prediction from configuration: the write units each record cost"
                " times the rate exceed the provisioned WCU; nothing throttled, the table's"
                " burst credit still carried the rate"
            }
            if predicted
            else {}
        ),
    }


def print_summary(
    run_dir: Path, summary: dict[str, Any], audit_result: Any, report_problem: str | None
) -> None:
    line = "=" * 72
    print(line)
    print(f"RESULT: {'PASS' if summary['passed'] else 'FAIL'}   run folder: {run_dir}")
    if summary.get("knee_rps") is not None:
        print(
            f"knee: {summary['knee_rps']:.0f} {summary.get('knee_unit', 'records/s')} accepted"
            + (
                f" (offered {summary['knee_offered_rps']:.0f}/s at a target of"
                f" {summary['knee_target_rps']:.0f}/s)"
                if summary.get("knee_target_rps")
                else ""
            )
        )
    if summary.get("bottleneck"):
        b = summary["bottleneck"]
        print(f"first bottleneck: {b['resource']} ({b['evidence']})")
        if b.get("basis"):
            print(f"  note: {b['basis']}")
    if summary.get("generator_limited"):
        print("warning: the load generator could not keep the target rate in some steps")
    if summary.get("table_knee"):
        from loadtests.table_knee import summary_lines

        for text in summary_lines(summary["table_knee"]):
            print(text)
    for caveat in summary.get("caveats") or []:
        print(f"note: {caveat}")
    resharding = summary.get("resharding")
    if resharding:
        calls = ", ".join(
            f"{r['from']} -> {r['to']} shards"
            + (
                f" failed: {r['error']}"
                if r.get("error")
                else f" in {r['seconds_to_active']:.2f} s"
            )
            for r in resharding["reshards"]
        )
        order = resharding.get("order")
        checked = (
            f"per-key order violations {order['violations']} over {order['items']} records"
            if order
            else "per-key order not checked"
        )
        print(f"resharding: {calls}; {checked}")
    if audit_result is not None:
        a = audit_result
        print(
            f"audit: produced {a.produced} stored {a.stored} dead-lettered {a.dead_lettered}"
            f" lost {a.lost} unexpected {a.unexpected}"
        )
        if a.lost and not a.drained:
            print(
                f"warning: the consumer had not caught up after {a.drain_wait_s:.0f} s of waiting"
                " (it stopped making progress, or the wait hit its limit):"
                " 'lost' includes events still on the stream (raise --drain-timeout, or read"
                " the ingest log under logs/ and the on-failure queue)"
            )
    else:
        print("audit: not audited")
    for loss in (summary.get("workers") or {}).get("losses", []):
        lost = ", ".join(loss["lost"])
        print(f"warning: worker(s) lost mid-run: {lost} ({loss['remaining']} left)")
    for gate in summary["gates"]:
        print(("  ok    " if gate["passed"] else "  FAIL  ") + gate["message"])
    if summary.get("error"):
        print(f"problems: {summary['error']}")
    if report_problem:
        print(f"warning: {report_problem}")
    print(f"report: {run_dir / rf.REPORT_MD}")
    print(line, flush=True)
