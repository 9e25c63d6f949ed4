"""modules/loadgen: off by default, wired to this environment's resources, a narrow task role."""

from __future__ import annotations

import json

from pipeline.config import load_environment
from tests.unit.terraform.conftest import ENVIRONMENTS, MODULES, load_dir

LOADGEN = MODULES / "loadgen"
# Each resource the task role may name -> the module input (or local) it must come from.
RUN_RESOURCES = {
    "${var.stream_arn}",
    "${var.table_arn}",
    "${var.dead_letter_queue_arn}",
    "${var.kms_key_arn}",
    "${local.api_arn}/*/GET/events",
    "${local.api_arn}/*/GET/events/*",
    "${local.results_arn}/${var.settings.results_prefix}*",
    "${local.results_arn}",
}
READ_ONLY_WITHOUT_RESOURCE_LEVEL = {"cloudwatch:GetMetricData", "cloudwatch:ListMetrics"}


def _task_statements() -> list[dict]:
    data = load_dir(LOADGEN).typed("data")
    return data[("aws_iam_policy_document", "task")]["statement"]


def role_problems(statements: list[dict]) -> list[str]:
    problems = []
    for statement in statements:
        sid = statement.get("sid", "?")
        for resource in statement.get("resources", []):
            if resource == "*":
                extra = set(statement["actions"]) - READ_ONLY_WITHOUT_RESOURCE_LEVEL
                if extra:
                    problems.append(f"{sid}: '*' for {sorted(extra)}")
            elif resource not in RUN_RESOURCES:
                problems.append(f"{sid}: {resource} is not one of the run's resources")
    return problems


def test_the_task_role_names_only_the_runs_resources():
    statements = _task_statements()
    assert {s["sid"] for s in statements} >= {
        "PutToTheStream",
        "ReadTheRunsItemsForTheAudit",
        "CallTheReadApi",
        "ReadTheRunsMetrics",
        "WriteAndReadTheRunFolder",
    }
    assert role_problems(statements) == []


def test_the_check_reports_a_foreign_resource_and_a_star_for_a_write():
    assert role_problems(
        [
            {"sid": "A", "actions": ["s3:PutObject"], "resources": ["arn:aws:s3:::other/*"]},
            {"sid": "B", "actions": ["kinesis:PutRecords"], "resources": ["*"]},
        ]
    ) == [
        "A: arn:aws:s3:::other/* is not one of the run's resources",
        "B: '*' for ['kinesis:PutRecords']",
    ]


def test_the_run_folder_listing_is_limited_to_the_results_prefix():
    listing = next(s for s in _task_statements() if s["sid"] == "ListTheRunFolder")
    assert listing["condition"][0]["values"] == ["${var.settings.results_prefix}*"]


def test_the_root_wires_the_environments_own_resources_and_is_off_by_default(root):
    module = root.labelled("module")["loadgen"]
    assert module["count"] == "${var.loadgen.enabled ? 1 : 0}"
    assert module["stream_arn"] == "${module.stream.arn}"
    assert module["table_arn"] == "${module.table.arn}"
    assert module["api_id"] == "${module.api.api_id}"
    assert module["dead_letter_queue_arn"] == "${module.ingest.dead_letter_queue_arn}"
    for env_file in sorted(ENVIRONMENTS.glob("*.tfvars.json")):
        data = json.loads(env_file.read_text(encoding="utf-8"))
        assert data["loadgen"]["enabled"] is False, env_file.name
        assert load_environment(env_file).loadgen.enabled is False


def test_the_master_accepts_locusts_port_from_the_workers_only():
    resources = load_dir(LOADGEN).typed("resource")
    ingress = [body for (kind, _), body in resources.items() if kind.endswith("ingress_rule")]
    assert len(ingress) == 1
    assert ingress[0]["security_group_id"] == "${aws_security_group.master.id}"
    assert ingress[0]["referenced_security_group_id"] == "${aws_security_group.worker.id}"
    assert "cidr_ipv4" not in ingress[0]
