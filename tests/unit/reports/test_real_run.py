"""A real run folder: `make loadtest SCENARIO=smoke` on the local stack (2026-11-29, branches
issue-loadtests + issue-runtime + issue-handlers), kept as the load tests wrote it (Locust's
own files and logs left out). The API Lambda's reserved concurrency (10) throttled first."""

import json
import shutil
from pathlib import Path

import pytest

from pipeline.config import parse_environment
from reports import runfolder as rf
from reports.cli import main

REAL_RUN = Path(__file__).parent / "data" / "smoke-local-20261129"


@pytest.fixture
def real_run(tmp_path) -> Path:
    return Path(shutil.copytree(REAL_RUN, tmp_path / REAL_RUN.name))


def test_a_real_smoke_run_names_the_api_lambda_and_raises_its_concurrency(real_run, capsys):
    assert main(["build", str(real_run)]) == 0
    summary = json.loads((real_run / rf.SUMMARY_JSON).read_text())
    assert summary["bottleneck"]["resource"] == "Lambda API concurrency"
    assert summary["bottleneck"]["metric"] == "AWS/Lambda Throttles"
    assert summary["bottleneck"]["value"] == 343
    assert summary["knee"]["reached"] is False  # a smoke run holds one rate
    assert summary["knee_rps"] == 50
    assert summary["passed"] is False
    assert summary["measures"]  # the load test's keys are kept
    markdown = (real_run / rf.REPORT_MD).read_text()
    assert markdown.startswith("# Capacity report: 20261129-055516-smoke (FAIL)")
    assert "Lambda API concurrency throttled first." in markdown
    assert "% of the API requests failed." in markdown
    assert "The run did not reach its knee" in markdown
    assert "**FAIL**: error_rate failed: 12.62% > limit 1.00%" in markdown
    recommended = parse_environment(json.loads((real_run / rf.RECOMMENDED_TFVARS).read_text()))
    assert recommended.api.reserved_concurrency > 10
    diff = (real_run / rf.RECOMMENDED_DIFF).read_text()
    assert '-    "reserved_concurrency": 10,' in diff
    changed = [line for line in diff.splitlines() if line[:1] in "+-"]
    assert not [line for line in changed if "throttling_rate_limit" in line]  # unchanged
