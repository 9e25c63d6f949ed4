"""RUNNER=fargate against stubbed ECS and Cloud Map (botocore Stubber) and moto's S3.

Whatever happens (a run to the end, a worker ECS refuses, Ctrl-C), every task the run
started is stopped, the master's name is removed, and the bill is printed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from loadtests import fargate
from loadtests import generator_cost as gc
from pipeline.config import ENVIRONMENTS_DIR, parse_environment
from reports.prices import load_prices

BUCKET = "redline-results-dev"
LAUNCH = "20261201T000000Z"
PREFIX = f"loadtests/{LAUNCH}/"
CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/redline-loadgen-dev"
MASTER = "arn:aws:ecs:us-east-1:123456789012:task/redline-loadgen-dev/master1"
WORKERS = [f"arn:aws:ecs:us-east-1:123456789012:task/redline-loadgen-dev/w{i}" for i in (1, 2)]
SERVICE = "srv-0123456789"
OUTPUTS = {
    "loadgen": {
        "value": {
            "cluster_arn": CLUSTER,
            "master_task_definition_arn": "arn:aws:ecs:us-east-1:123456789012:task-definition/m:1",
            "worker_task_definition_arn": "arn:aws:ecs:us-east-1:123456789012:task-definition/w:1",
            "master_security_group_id": "sg-master",
            "worker_security_group_id": "sg-worker",
            "master_service_id": SERVICE,
            "master_host": "master.loadgen.dev.redline.internal",
        }
    }
}
T0 = datetime(2026, 12, 1, tzinfo=UTC)


def environment(**loadgen):
    data = json.loads((ENVIRONMENTS_DIR / "dev.tfvars.json").read_text(encoding="utf-8"))
    data["loadgen"].update(
        enabled=True,
        image="123456789012.dkr.ecr.us-east-1.amazonaws.com/redline-loadgen:1",
        vpc_id="vpc-0abc",
        subnet_ids=["subnet-0abc"],
        results_bucket=BUCKET,
        **loadgen,
    )
    return parse_environment(data, "dev")


def plan(tmp_path: Path, **loadgen) -> fargate.FargateRun:
    return fargate.FargateRun(
        env_name="dev",
        environment=environment(**loadgen),
        outputs=OUTPUTS,
        run_args=["--scenario", "smoke"],
        workers=2,
        bound_s=80.0,
        results_dir=tmp_path / "results",
        prices=load_prices(),
        launch_id=LAUNCH,
    )


def task(arn: str, status: str, group: str, exit_code: int | None = None) -> dict:
    described = {
        "taskArn": arn,
        "lastStatus": status,
        "group": group,
        "pullStartedAt": T0,
        "attachments": [
            {"details": [{"name": "privateIPv4Address", "value": "10.0.1.5"}]},
        ],
        "containers": [{"name": "x", **({"exitCode": exit_code} if exit_code is not None else {})}],
    }
    if status == "STOPPED":
        described["stoppedAt"] = T0 + timedelta(minutes=4)
    return described


@pytest.fixture
def clients():
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        ecs = boto3.client("ecs", region_name="us-east-1")
        sd = boto3.client("servicediscovery", region_name="us-east-1")
        with Stubber(ecs) as ecs_stub, Stubber(sd) as sd_stub:
            yield fargate.Clients(ecs, s3, sd), ecs_stub, sd_stub
            ecs_stub.assert_no_pending_responses()
            sd_stub.assert_no_pending_responses()


def expect_start(ecs_stub, sd_stub) -> None:
    ecs_stub.add_response("run_task", {"tasks": [{"taskArn": MASTER}], "failures": []})
    ecs_stub.add_response(
        "describe_tasks", {"tasks": [task(MASTER, "RUNNING", "redline-loadgen-master-x")]}
    )
    sd_stub.add_response(
        "register_instance",
        {"OperationId": "op1"},
        {
            "ServiceId": SERVICE,
            "InstanceId": LAUNCH,
            "Attributes": {"AWS_INSTANCE_IPV4": "10.0.1.5"},
        },
    )


def expect_stop(ecs_stub, sd_stub, arns: list[str]) -> None:
    for arn in arns:
        ecs_stub.add_response(
            "stop_task",
            {},
            {"cluster": CLUSTER, "task": arn, "reason": fargate.STOP_REASON},
        )
    sd_stub.add_response(
        "deregister_instance", {"OperationId": "op2"}, {"ServiceId": SERVICE, "InstanceId": LAUNCH}
    )
    ecs_stub.add_response(
        "describe_tasks",
        {
            "tasks": [task(MASTER, "STOPPED", "redline-loadgen-master-x", 0)]
            + [task(a, "STOPPED", "redline-loadgen-worker-x") for a in arns[1:]]
        },
    )


def test_a_run_starts_master_and_workers_pulls_the_run_folder_and_stops_every_task(
    tmp_path, clients, capsys
):
    c, ecs_stub, sd_stub = clients
    expect_start(ecs_stub, sd_stub)
    ecs_stub.add_response("run_task", {"tasks": [{"taskArn": a} for a in WORKERS], "failures": []})
    ecs_stub.add_response(
        "describe_tasks", {"tasks": [task(MASTER, "STOPPED", "redline-loadgen-master-x", 0)]}
    )
    expect_stop(ecs_stub, sd_stub, [MASTER, *WORKERS])
    # What the master task leaves in S3 at its end.
    run_id = "20261201-000100-smoke"
    c.s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}results/{run_id}/summary.json", Body=b"{}")

    code, run_dir = fargate.run(plan(tmp_path), c, sleep=lambda _s: None)

    assert code == 0
    assert run_dir == tmp_path / "results" / run_id
    assert (run_dir / "summary.json").read_text() == "{}"
    cost = json.loads((run_dir / fargate.GENERATOR_COST_JSON).read_text())
    # 3 tasks billed 4 minutes each (pullStartedAt..stoppedAt) at the default task size.
    f = load_prices().fargate
    assert cost["billed_usd"] == pytest.approx(3 * (f.vcpu_hour_arm64 + 2 * f.gb_hour_arm64) / 15)
    assert cost["predicted_usd"] > 0 and cost["tasks"] == 3
    assert (tmp_path / "results" / "latest").resolve() == run_dir
    # The master got the deployed names through S3.
    outputs = c.s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}outputs.json")["Body"].read()
    assert json.loads(outputs) == OUTPUTS
    out = capsys.readouterr().out
    assert "predicted generator cost:" in out and "(a prediction)" in out
    assert "stopping the 3 task(s) this run started" in out
    assert "generator cost: " in out and "for 3 task(s)" in out


def test_a_worker_ecs_refuses_stops_the_master_already_started(tmp_path, clients, capsys):
    c, ecs_stub, sd_stub = clients
    expect_start(ecs_stub, sd_stub)
    ecs_stub.add_response(
        "run_task",
        {"tasks": [{"taskArn": WORKERS[0]}], "failures": [{"arn": "x", "reason": "RESOURCE:ENI"}]},
    )
    expect_stop(ecs_stub, sd_stub, [MASTER, WORKERS[0]])

    with pytest.raises(
        fargate.FargateError, match=r"ECS did not start the 2 worker task\(s\): x: RESOURCE:ENI"
    ):
        fargate.run(plan(tmp_path), c, sleep=lambda _s: None)
    assert "stopping the 2 task(s) this run started" in capsys.readouterr().out


def test_ctrl_c_while_the_run_goes_on_stops_every_task(tmp_path, clients):
    c, ecs_stub, sd_stub = clients
    expect_start(ecs_stub, sd_stub)
    ecs_stub.add_response("run_task", {"tasks": [{"taskArn": a} for a in WORKERS], "failures": []})
    ecs_stub.add_response(
        "describe_tasks", {"tasks": [task(MASTER, "RUNNING", "redline-loadgen-master-x")]}
    )
    expect_stop(ecs_stub, sd_stub, [MASTER, *WORKERS])

    def interrupt(_seconds):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fargate.run(plan(tmp_path), c, sleep=interrupt)


def test_a_run_over_budget_starts_nothing(tmp_path, clients):
    c, _ecs_stub, _sd_stub = clients  # no stubbed response: any ECS call would fail the test
    with pytest.raises(gc.BudgetError, match=r"over loadgen\.budget_usd 0\.0001"):
        fargate.run(plan(tmp_path, budget_usd=0.0001), c, sleep=lambda _s: None)


def test_without_the_module_deployed_the_error_says_how_to_deploy_it(tmp_path, clients):
    c, _ecs_stub, _sd_stub = clients
    disabled = fargate.FargateRun(
        **{**plan(tmp_path).__dict__, "outputs": {"loadgen": {"value": None}}}
    )
    with pytest.raises(fargate.FargateSetupError, match=r"make deploy ENV=dev"):
        fargate.run(disabled, c, sleep=lambda _s: None)


def test_the_master_gets_the_scenario_and_overrides_as_given():
    from loadtests import cli

    args = cli.build_parser().parse_args(
        ["run", "--scenario", "step", "--rate", "5000", "--duration", "600", "--target", "aws"]
    )
    assert fargate.forwarded_run_args(args) == [
        "--scenario",
        "step",
        "--on-worker-loss",
        "fail",
        "--rate",
        "5000.0",
        "--duration",
        "600.0",
    ]
