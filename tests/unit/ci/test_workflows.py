"""The GitHub Actions workflows: pinned actions, the gates and the deploy path of the issue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[3] / ".github" / "workflows"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})$")


def _load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _runs(workflow: dict) -> str:
    return "\n".join(step.get("run", "") for step in _steps(workflow))


@pytest.mark.parametrize("name", ["ci.yml", "deploy.yml", "loadtest.yml"])
def test_every_action_is_pinned_to_an_exact_version(name):
    uses = [step["uses"] for step in _steps(_load(name)) if "uses" in step]
    assert uses
    assert [u for u in uses if not PINNED.match(u)] == []


def test_ci_runs_lint_tests_contract_tests_and_a_gated_smoke_load_test():
    ci = _load("ci.yml")
    assert set(ci[True]) == {"pull_request", "push"}  # YAML reads `on` as True
    runs = _runs(ci)
    for command in ("make lint", "make test", "make loadtest SCENARIO=smoke"):
        assert command in runs
    # checkov, bandit and the API contract tests run inside `make test`.
    infra = (WORKFLOWS.parents[1] / "mk" / "infra.mk").read_text(encoding="utf-8")
    assert "TEST_EXTRAS += checkov bandit api-contract" in infra
    assert "terraform -chdir=terraform fmt -check -recursive" in runs
    assert "terraform -chdir=terraform validate" in runs
    smoke = ci["jobs"]["smoke-loadtest"]["steps"]
    upload = next(s for s in smoke if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"


def test_deploy_applies_dev_with_oidc_then_gates_on_a_smoke_test_and_promotes_prod_manually():
    deploy = _load("deploy.yml")
    assert deploy["permissions"]["id-token"] == "write"
    dev, prod = deploy["jobs"]["dev"], deploy["jobs"]["prod"]
    dev_runs = [s.get("run", "") for s in dev["steps"]]
    apply_at = dev_runs.index("make deploy ENV=dev")
    assert (
        dev_runs.index("make loadtest TARGET=aws ENV=dev SCENARIO=smoke YES=1 BUDGET=5") > apply_at
    )
    assert any("configure-aws-credentials" in s.get("uses", "") for s in dev["steps"])
    assert prod["needs"] == "dev"
    assert prod["environment"] == "prod"  # the environment's required reviewers approve
    assert "make deploy ENV=prod" in [s.get("run", "") for s in prod["steps"]]


def test_loadtest_takes_a_scenario_and_an_environment_and_uploads_the_report():
    workflow = _load("loadtest.yml")
    inputs = workflow[True]["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"scenario", "environment"}
    assert inputs["environment"]["options"] == ["local", "dev", "prod"]
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in _steps(workflow))
