"""The run's result where CI users look: junit.xml (a failed gate is a failed test case) and
the GitHub job summary, both from the run folder only."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from loadtests import ci
from loadtests.cli import main

RUN = {
    "run_id": "20261201T230000Z-smoke",
    "scenario": "smoke",
    "target": "local",
    "environment_name": "local",
    "started_at": "2026-12-01T23:00:00+00:00",
    "duration_s": 42.0,
}
AUDIT = {"produced": 900, "stored": 899, "dead_lettered": 0, "lost": 1, "unexpected": 0}


def _gate(name, limit, actual, passed):
    verdict = "<=" if passed else "> limit"
    return {
        "name": name,
        "limit": limit,
        "actual": actual,
        "passed": passed,
        "message": f"{name}: {actual} {verdict} {limit}",
    }


def _run_folder(tmp_path: Path, gates: list[dict], error: str | None = None) -> Path:
    run_dir = tmp_path / RUN["run_id"]
    run_dir.mkdir()
    summary = {
        "knee_rps": 1480.0,
        "bottleneck": {
            "resource": "kinesis shard writes",
            "evidence": "1,020 throttled at 1,500/s",
        },
        "gates": gates,
        "passed": all(g["passed"] for g in gates) and not error,
        "error": error,
        "interrupted": False,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary))
    (run_dir / "run.json").write_text(json.dumps(RUN))
    (run_dir / "audit.json").write_text(json.dumps(AUDIT))
    rows = ["timestamp,elapsed_s,phase,request_type,offered,accepted,throttled"]
    for second in range(120):
        rows.append(f"{1_800_000_000 + second},{second},load,kinesis.put_records,100,90,10")
    (run_dir / "timeline.csv").write_text("\n".join(rows) + "\n")
    return run_dir


def _cases(xml_text: str) -> dict[str, ET.Element]:
    root = ET.fromstring(xml_text)
    return {case.get("name"): case for case in root.iter("testcase")}


def test_a_failed_gate_is_a_failed_test_case_and_a_passed_gate_a_passed_one(tmp_path):
    run_dir = _run_folder(
        tmp_path,
        [
            _gate("latency_p95", 500.0, 730.0, False),
            _gate("max_lost", 0, 1, False),
            _gate("error_rate", 0.01, 0.0, True),
        ],
    )
    junit = ci.publish(run_dir, environ={})
    assert junit == run_dir / "junit.xml"
    text = junit.read_text()
    cases = _cases(text)
    assert set(cases) == {"latency_p95", "max_lost", "error_rate"}
    failure = cases["latency_p95"].find("failure")
    assert failure is not None and failure.get("message") == "latency_p95: 730.0 > limit 500.0"
    assert cases["max_lost"].find("failure") is not None
    assert cases["error_rate"].find("failure") is None
    suite = ET.fromstring(text).find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("3", "2")


def test_a_broken_run_fails_even_when_every_gate_passed(tmp_path):
    run_dir = _run_folder(
        tmp_path, [_gate("error_rate", 0.01, 0.0, True)], error="CloudWatch metrics not read"
    )
    cases = _cases(ci.publish(run_dir, environ={}).read_text())
    assert cases["run"].find("failure").get("message") == "CloudWatch metrics not read"
    assert cases["error_rate"].find("failure") is None


def test_the_job_summary_goes_to_github_step_summary_with_verdict_knee_gates_audit_chart(
    tmp_path,
):
    run_dir = _run_folder(tmp_path, [_gate("latency_p95", 500.0, 730.0, False)])
    step_summary = tmp_path / "step_summary.md"
    step_summary.write_text("earlier step\n")
    ci.publish(run_dir, environ={"GITHUB_STEP_SUMMARY": str(step_summary)})
    text = step_summary.read_text()
    assert text.startswith("earlier step\n")  # appended, never overwritten
    assert "## Redline load test `smoke`: FAIL" in text
    assert "**Knee**: 1480 records/s" in text
    assert "kinesis shard writes" in text
    assert "| latency_p95 | **FAIL** | 730 | 500 |" in text
    assert "**lost 1**" in text
    assert "```mermaid\nxychart-beta" in text
    assert "  line [100, 100," in text and "  line [10, 10," in text


def test_without_github_actions_only_junit_is_written(tmp_path):
    run_dir = _run_folder(tmp_path, [_gate("error_rate", 0.01, 0.0, True)])
    ci.publish(run_dir, environ={})
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "audit.json",
        "junit.xml",
        "run.json",
        "summary.json",
        "timeline.csv",
    ]


def test_ci_summary_command_refuses_a_folder_without_a_finished_run(tmp_path, capsys):
    assert main(["ci-summary", str(tmp_path)]) == 2
    assert "has no summary.json: not a finished run" in capsys.readouterr().err
