"""`make loadtest TARGET=aws RUNNER=fargate WORKERS=N`: Locust's distributed mode on Fargate.

From the user's machine: predict the generator's cost and refuse a run over budget; start the
master task (it runs `python -m loadtests run` against AWS, the same pacing, audit and gates,
see loadtests/fargate_task.py), register its address under the Cloud Map name the workers
use, start N worker tasks, wait for the master to finish, pull the run folder from S3 into
results/<run-id>/, and stop every task it started, also on Ctrl-C or failure. Then print
what the tasks were billed for.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loadtests import folder
from loadtests import generator_cost as gc
from pipeline.config import EnvironmentConfig
from pipeline.loadgen_config import LoadgenConfig
from reports.prices import Prices

RUN_TASK_MAX_COUNT = 10  # ecs.run_task starts at most 10 tasks per call
POLL_S = 5.0
MASTER_START_TIMEOUT_S = 300.0
MASTER_GRACE_S = 600.0  # beyond the scenario's bound: workers joining, audit, upload
STOP_REASON = "redline loadtest finished or was stopped"
OUTPUTS_KEY = "outputs.json"
RESULTS_KEY = "results/"
GENERATOR_COST_JSON = "generator_cost.json"  # in the run folder: predicted and billed


class FargateError(RuntimeError):
    """The Fargate run broke; the message is the line the user sees (exit 3)."""


class FargateSetupError(FargateError):
    """The Fargate run cannot start as configured (exit 2): nothing was started."""


@dataclass
class Launch:
    """What one run started: every task ARN is stopped at the end, whatever happened."""

    launch_id: str
    prefix: str  # s3 key prefix of this run: <results_prefix><launch_id>/
    master_arn: str | None = None
    worker_arns: list[str] = field(default_factory=list)
    registered: bool = False

    @property
    def task_arns(self) -> list[str]:
        return ([self.master_arn] if self.master_arn else []) + self.worker_arns


@dataclass(frozen=True)
class Clients:
    ecs: Any
    s3: Any
    servicediscovery: Any


def loadgen_outputs(outputs: dict[str, Any], env_name: str) -> dict[str, Any]:
    entry = outputs.get("loadgen")
    value = entry.get("value") if isinstance(entry, dict) and "value" in entry else entry
    if not value:
        raise FargateSetupError(
            f"RUNNER=fargate needs the loadgen module deployed: set loadgen.enabled in"
            f" terraform/environments/{env_name}.tfvars.json, `make deploy ENV={env_name}`,"
            f" then `make outputs ENV={env_name}`"
        )
    return value


def _network(loadgen: LoadgenConfig, security_group: str) -> dict[str, Any]:
    return {
        "awsvpcConfiguration": {
            "subnets": list(loadgen.subnet_ids),
            "securityGroups": [security_group],
            "assignPublicIp": "ENABLED" if loadgen.assign_public_ip else "DISABLED",
        }
    }


def _capacity(loadgen: LoadgenConfig) -> dict[str, Any]:
    if loadgen.use_spot:
        return {"capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]}
    return {"launchType": "FARGATE"}


def _started(response: dict[str, Any], what: str) -> list[str]:
    failures = response.get("failures") or []
    if failures:
        reasons = "; ".join(f"{f.get('arn', '?')}: {f.get('reason', '?')}" for f in failures)
        raise FargateError(f"ECS did not start the {what}: {reasons}")
    return [t["taskArn"] for t in response.get("tasks", [])]


def start_master(
    clients: Clients,
    launch: Launch,
    loadgen: LoadgenConfig,
    lg: dict[str, Any],
    environment: dict[str, str],
) -> None:
    response = clients.ecs.run_task(
        cluster=lg["cluster_arn"],
        taskDefinition=lg["master_task_definition_arn"],
        count=1,
        group=f"redline-loadgen-master-{launch.launch_id}"[:255],
        networkConfiguration=_network(loadgen, lg["master_security_group_id"]),
        overrides={
            "containerOverrides": [
                {
                    "name": "master",
                    "environment": [{"name": k, "value": v} for k, v in environment.items()],
                }
            ]
        },
        startedBy="redline-loadtest",
        **_capacity(loadgen),
    )
    arns = _started(response, "master task")
    launch.master_arn = arns[0] if arns else None
    if launch.master_arn is None:
        raise FargateError("ECS answered run_task without a master task")


def wait_master_address(
    clients: Clients, launch: Launch, cluster: str, sleep: Callable[[float], None]
) -> str:
    deadline = time.monotonic() + MASTER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        task = _describe(clients, cluster, [launch.master_arn])[0]
        if task.get("lastStatus") == "STOPPED":
            raise FargateError(f"the master task stopped while starting: {_why(task)}")
        address = _private_ip(task)
        if task.get("lastStatus") == "RUNNING" and address:
            return address
        sleep(POLL_S)
    raise FargateError(f"the master task was not RUNNING within {MASTER_START_TIMEOUT_S:.0f} s")


def start_workers(
    clients: Clients, launch: Launch, loadgen: LoadgenConfig, lg: dict[str, Any], count: int
) -> None:
    remaining = count
    while remaining > 0:
        batch = min(remaining, RUN_TASK_MAX_COUNT)
        response = clients.ecs.run_task(
            cluster=lg["cluster_arn"],
            taskDefinition=lg["worker_task_definition_arn"],
            count=batch,
            group=f"redline-loadgen-worker-{launch.launch_id}"[:255],
            networkConfiguration=_network(loadgen, lg["worker_security_group_id"]),
            overrides={
                "containerOverrides": [
                    {
                        "name": "worker",
                        "environment": [
                            {"name": "REDLINE_LOADGEN_BUCKET", "value": loadgen.results_bucket},
                            {"name": "REDLINE_LOADGEN_PREFIX", "value": launch.prefix},
                        ],
                    }
                ]
            },
            startedBy="redline-loadtest",
            **_capacity(loadgen),
        )
        # Keep what did start even when some did not: those must be stopped too.
        launch.worker_arns += [t["taskArn"] for t in response.get("tasks", [])]
        _started(response, f"{batch} worker task(s)")
        remaining -= batch


def wait_master_stopped(
    clients: Clients, launch: Launch, cluster: str, bound_s: float, sleep: Callable[[float], None]
) -> int:
    """The master container's exit code (the run's: 0 pass, 1 gates, 2 usage, 3 broken)."""
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        task = _describe(clients, cluster, [launch.master_arn])[0]
        if task.get("lastStatus") == "STOPPED":
            codes = [c.get("exitCode") for c in task.get("containers", [])]
            code = next((c for c in codes if c is not None), None)
            if code is None:
                raise FargateError(f"the master task stopped without an exit code: {_why(task)}")
            return int(code)
        sleep(POLL_S)
    raise FargateError(f"the master task did not finish within {bound_s:.0f} s; stopping it")


def stop_everything(clients: Clients, launch: Launch, cluster: str, service_id: str) -> list[str]:
    """Stop every task this run started and remove the master's name; returns problems."""
    problems = []
    for arn in launch.task_arns:
        try:
            clients.ecs.stop_task(cluster=cluster, task=arn, reason=STOP_REASON)
        except Exception as exc:  # keep stopping the others
            problems.append(f"could not stop {arn}: {exc}")
    if launch.registered:
        try:
            clients.servicediscovery.deregister_instance(
                ServiceId=service_id, InstanceId=launch.launch_id
            )
        except Exception as exc:
            problems.append(f"could not remove the master's Cloud Map name: {exc}")
    return problems


def pull_run_folder(clients: Clients, bucket: str, launch: Launch, results_dir: Path) -> Path:
    """s3://bucket/<prefix>results/<run-id>/... -> results_dir/<run-id>/..."""
    prefix = launch.prefix + RESULTS_KEY
    paginator = clients.s3.get_paginator("list_objects_v2")
    run_dirs: set[Path] = set()
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :]
            if not relative or ".." in Path(relative).parts:
                continue
            target = results_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            clients.s3.download_file(bucket, item["Key"], str(target))
            run_dirs.add(results_dir / Path(relative).parts[0])
    if not run_dirs:
        raise FargateError(f"the master wrote no run folder under s3://{bucket}/{prefix}")
    run_dir = sorted(run_dirs)[-1]
    folder.point_latest(results_dir, run_dir)
    return run_dir


def _describe(clients: Clients, cluster: str, arns: list[str | None]) -> list[dict[str, Any]]:
    tasks = clients.ecs.describe_tasks(cluster=cluster, tasks=[a for a in arns if a])["tasks"]
    if not tasks:
        raise FargateError(f"ECS does not know the task(s) {arns}")
    return tasks


def _private_ip(task: dict[str, Any]) -> str | None:
    for attachment in task.get("attachments", []):
        for detail in attachment.get("details", []):
            if detail.get("name") == "privateIPv4Address":
                return detail.get("value")
    return None


def _why(task: dict[str, Any]) -> str:
    reasons = [task.get("stoppedReason")] + [c.get("reason") for c in task.get("containers", [])]
    return "; ".join(r for r in reasons if r) or "no reason given"


@dataclass(frozen=True)
class FargateRun:
    env_name: str
    environment: EnvironmentConfig
    outputs: dict[str, Any]
    run_args: list[str]  # what the master passes to `python -m loadtests run`
    workers: int
    bound_s: float
    results_dir: Path
    prices: Prices
    over_budget: bool = False
    launch_id: str | None = None  # default: the UTC start time


def run(
    plan: FargateRun, clients: Clients, sleep: Callable[[float], None] = time.sleep
) -> tuple[int, Path | None]:
    """Start, wait, pull, stop. Returns (the master's exit code, the local run folder)."""
    loadgen = plan.environment.loadgen
    if not loadgen.enabled:
        raise FargateSetupError(
            f"RUNNER=fargate needs loadgen.enabled in terraform/environments/{plan.env_name}"
            ".tfvars.json (and the loadgen module deployed)"
        )
    lg = loadgen_outputs(plan.outputs, plan.env_name)
    prediction = gc.predict(loadgen, plan.workers, plan.bound_s, plan.prices)
    print(f"==> {prediction.describe(plan.prices.currency)} (a prediction)", flush=True)
    gc.check_budget(prediction, loadgen.budget_usd, plan.over_budget)

    launch_id = plan.launch_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    launch = Launch(launch_id, f"{loadgen.results_prefix}{launch_id}/")
    cluster = lg["cluster_arn"]
    clients.s3.put_object(
        Bucket=loadgen.results_bucket,
        Key=launch.prefix + OUTPUTS_KEY,
        Body=json.dumps(plan.outputs).encode(),
    )
    master_env = {
        "REDLINE_LOADGEN_BUCKET": loadgen.results_bucket,
        "REDLINE_LOADGEN_PREFIX": launch.prefix,
        "REDLINE_LOADGEN_ENV": plan.env_name,
        "REDLINE_LOADGEN_WORKERS": str(plan.workers),
        "REDLINE_LOADGEN_RUN_ARGS": json.dumps(plan.run_args),
    }
    code, run_dir = 3, None
    try:
        print(f"==> starting the Locust master task ({launch_id})", flush=True)
        start_master(clients, launch, loadgen, lg, master_env)
        address = wait_master_address(clients, launch, cluster, sleep)
        clients.servicediscovery.register_instance(
            ServiceId=lg["master_service_id"],
            InstanceId=launch.launch_id,
            Attributes={"AWS_INSTANCE_IPV4": address},
        )
        launch.registered = True
        print(
            f"==> master at {address} ({lg['master_host']}); starting {plan.workers} worker task(s)"
        )
        start_workers(clients, launch, loadgen, lg, plan.workers)
        code = wait_master_stopped(clients, launch, cluster, plan.bound_s + MASTER_GRACE_S, sleep)
        run_dir = pull_run_folder(clients, loadgen.results_bucket, launch, plan.results_dir)
        print(f"==> run folder pulled into {run_dir}", flush=True)
    finally:
        print(f"==> stopping the {len(launch.task_arns)} task(s) this run started", flush=True)
        for problem in stop_everything(clients, launch, cluster, lg["master_service_id"]):
            print(f"warning: {problem}", file=sys.stderr, flush=True)
        billed = _print_bill(clients, launch, cluster, loadgen, plan.prices)
        if run_dir is not None:
            folder.write_json(
                run_dir / GENERATOR_COST_JSON,
                {
                    "predicted_usd": round(prediction.usd, 6),
                    "predicted_usd_per_minute": round(prediction.usd_per_minute, 6),
                    "billed_usd": None if billed is None else round(billed, 6),
                    "billed_from": "ECS pullStartedAt..stoppedAt at On-Demand prices",
                    "workers": plan.workers,
                    "tasks": len(launch.task_arns),
                    "spot": loadgen.use_spot,
                    "prices_source": plan.prices.fargate.source,
                },
            )
    return code, run_dir


def _print_bill(
    clients: Clients, launch: Launch, cluster: str, loadgen: LoadgenConfig, prices: Prices
) -> float | None:
    if not launch.task_arns:
        return None
    try:
        tasks = [
            task
            for start in range(0, len(launch.task_arns), 100)  # describe_tasks takes 100
            for task in clients.ecs.describe_tasks(
                cluster=cluster, tasks=launch.task_arns[start : start + 100]
            )["tasks"]
        ]
    except Exception as exc:
        print(f"warning: could not read the tasks' times to price them: {exc}", file=sys.stderr)
        return None
    usd = gc.billed_cost(tasks, loadgen, prices, datetime.now(UTC))
    print(
        f"generator cost: {usd:.4f} {prices.currency} for {len(tasks)} task(s), from ECS's"
        " image-pull and stop times at On-Demand prices",
        flush=True,
    )
    return usd


def forwarded_run_args(args: Any) -> list[str]:
    """The scenario and its overrides as given, for the master's `python -m loadtests run`."""
    from loadtests import cli

    run_parser = cli.build_parser()._subparsers._group_actions[0].choices["run"]
    forwarded = ["--scenario", args.scenario, "--on-worker-loss", args.on_worker_loss]
    for action in run_parser._actions:
        value = getattr(args, action.dest, None)
        if action.dest in cli.OVERRIDES and value is not None:
            forwarded += [action.option_strings[0], str(value)]
    return forwarded


def main_from_args(args: Any, env_name: str, environment: EnvironmentConfig, bound_s: float) -> int:
    """`python -m loadtests run --runner fargate ...`: exit 0/1/2/3 like any run, 130 on Ctrl-C."""
    import signal

    import boto3

    from loadtests import target as targets
    from reports.prices import load_prices

    def _interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the tasks too, as Ctrl-C does
    try:
        outputs = targets.terraform_outputs(env_name)
        session = boto3.Session(region_name=environment.aws_region)
        clients = Clients(
            session.client("ecs"), session.client("s3"), session.client("servicediscovery")
        )
        plan = FargateRun(
            env_name=env_name,
            environment=environment,
            outputs=outputs,
            run_args=forwarded_run_args(args),
            workers=args.workers,
            bound_s=bound_s,
            results_dir=Path(args.results),
            prices=load_prices(),
            over_budget=args.over_budget,
        )
        code, _ = run(plan, clients)
        return code
    except (FargateSetupError, gc.BudgetError, targets.TargetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FargateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("interrupted: every task this run started was stopped", file=sys.stderr)
        return 130
