"""`SCENARIO=capacity MIX=read` through the real local stack: the search over API requests/s
finds the API's route throttle from the 429s the readers got back, and names it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from loadtests.process import READ_GET_SHARE
from pipeline.local.stack import REPO_ROOT
from reports import runfolder as rf

pytestmark = [pytest.mark.integration, pytest.mark.long]  # make test-long, make bench

ROUTE_RATE = 10  # requests/s per route: low enough for a busy 2-core machine's API to answer
# Each route has its own bucket: together they admit the limit over the busiest route's share.
API_RATE = ROUTE_RATE / READ_GET_SHARE


def test_a_read_capacity_search_names_the_route_throttle(tmp_path):
    environment = json.loads(
        (REPO_ROOT / "terraform" / "environments" / "local.tfvars.json").read_text()
    )
    # a burst of one second's requests: readers starved of CPU send in clumps
    environment["api"].update(throttling_rate_limit=ROUTE_RATE, throttling_burst_limit=ROUTE_RATE)
    env_file = tmp_path / "reads.tfvars.json"
    env_file.write_text(json.dumps(environment), encoding="utf-8")
    results = tmp_path / "results"
    argv = ["--scenario", "capacity", "--mix", "read", "--env", str(env_file)]
    completed = subprocess.run(
        [sys.executable, "-m", "loadtests", "run", "--results", str(results), *argv],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=480,
        check=False,
    )
    output = completed.stdout + completed.stderr
    print(output)  # shown when an assertion fails
    run_dir = (results / rf.LATEST_LINK).resolve()
    summary = json.loads((run_dir / rf.SUMMARY_JSON).read_text())
    assert summary["knee_unit"] == "requests/s"
    # A sustained probe cannot have carried much more than the routes admit (the burst lets
    # a 7 s probe pass a little over).
    assert summary["knee_rps"] and 0 < summary["knee_rps"] <= API_RATE * 1.2, output
    assert f"knee: {summary['knee_rps']:.0f} requests/s accepted" in output
    bottleneck = summary["bottleneck"]
    assert bottleneck["resource"] == "API rate limit", output
    assert "429" in bottleneck["evidence"]  # the report's words, from the same 429s
    assert "first bottleneck: API rate limit (at " in output
    steps = summary["steps"]
    assert steps[0]["target_rate"] == pytest.approx(0.6 * ROUTE_RATE)  # seeded from the file
    assert any(s["throttled_rate"] > 0 for s in steps if not s["sustained"])
