"""CI shows results where people look: the scenarios a workflow offers exist, and both load
test jobs publish JUnit results and compare against the previous main run."""

from __future__ import annotations

from pathlib import Path

import yaml

from loadtests.scenarios import SCENARIOS

WORKFLOWS = Path(__file__).resolve().parents[3] / ".github" / "workflows"


def _load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def test_the_loadtest_workflow_offers_exactly_the_scenarios_that_exist():
    scenario = _load("loadtest.yml")[True]["workflow_dispatch"]["inputs"]["scenario"]
    assert scenario["type"] == "choice"
    assert sorted(scenario["options"]) == sorted(SCENARIOS)
    assert scenario["default"] in SCENARIOS


def _steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def test_load_test_jobs_publish_junit_and_compare_with_the_previous_main_run():
    for workflow, job in ((_load("ci.yml"), "smoke-loadtest"), (_load("loadtest.yml"), "loadtest")):
        steps = _steps(workflow, job)
        junit = next(
            s for s in steps if s.get("uses", "").startswith("mikepenz/action-junit-report")
        )
        assert junit["with"]["report_paths"] == "results/latest/junit.xml"
        assert junit["if"].startswith("always()")
        compare = next(s for s in steps if s.get("run") == "make compare-previous")
        assert compare["if"].startswith("always()")
        assert {"GH_TOKEN", "ARTIFACT_PREFIX", "WORKFLOW_FILE"} <= set(compare["env"])
        upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
        # the prefix + run id is the name the upload gives the artifact
        assert upload["with"]["name"].startswith(compare["env"]["ARTIFACT_PREFIX"])
        permissions = workflow["jobs"][job].get("permissions") or workflow["permissions"]
        assert permissions["actions"] == "read" and permissions["checks"] == "write"
