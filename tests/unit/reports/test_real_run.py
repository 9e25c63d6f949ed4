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
    assert summary["knee"]["target_rate"] == 50
    assert summary["knee_rps"] == pytest.approx(49.75)  # what was accepted, not the target
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


REAL_CAPACITY_RUN = Path(__file__).parent / "data" / "capacity-local-20261129"


def test_a_real_capacity_search_on_one_shard(tmp_path):
    """`make loadtest SCENARIO=capacity DURATION=90` on the local stack: 1 shard, ~300 B
    records; the search settled at 926 records/s, Kinesis shard writes throttling at 938."""
    run = Path(shutil.copytree(REAL_CAPACITY_RUN, tmp_path / REAL_CAPACITY_RUN.name))
    assert main(["build", str(run)]) == 0
    summary = json.loads((run / rf.SUMMARY_JSON).read_text())
    assert summary["knee_rps"] == pytest.approx(926, abs=1)
    assert summary["knee"]["first_failed_rate"] == pytest.approx(938, abs=1)
    assert summary["bottleneck"]["resource"] == "Kinesis shard writes"
    five = next(s for s in summary["sizing"] if s["label"] == "5x")
    assert five["shards"] >= 5
    assert set(five["monthly_cost"]["Kinesis"]) == {"provisioned", "on-demand"}
    assert set(five["monthly_cost"]["DynamoDB"]) == {"provisioned", "on-demand"}
    recommended = parse_environment(json.loads((run / rf.RECOMMENDED_TFVARS).read_text()))
    assert recommended.stream.shard_count == 3  # 2x = 1,852 records/s at 70%


def test_in_an_ingest_run_the_api_lambda_throttling_the_probes_is_not_the_bottleneck(real_run):
    # GIVEN the same folder as an ingest run: only the end-to-end probes called the API function
    info = json.loads((real_run / rf.RUN_JSON).read_text())
    info["options"]["mix"] = "ingest"
    (real_run / rf.RUN_JSON).write_text(json.dumps(info))
    # WHEN the report is built THEN the probes' throttles do not name the pipeline's bottleneck
    assert main(["build", str(real_run)]) == 0
    summary = json.loads((real_run / rf.SUMMARY_JSON).read_text())
    assert (summary.get("bottleneck") or {}).get("resource") != "Lambda API concurrency"
    assert "Lambda API concurrency throttled first" not in (real_run / rf.REPORT_MD).read_text()
