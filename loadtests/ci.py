"""A run's result where CI users look: a GitHub job summary and a JUnit XML file.

`publish(run_dir)` writes `junit.xml` into the run folder (one test case per gate, a failed
gate a failed test case, so any test-report tool shows it) and, when GitHub Actions sets
GITHUB_STEP_SUMMARY, appends the job summary (verdict, knee, bottleneck, gates, audit and a
Mermaid chart of offered / accepted / throttled over the run) to that file. Everything comes
from the run folder, so `python -m loadtests ci-summary results/<id>` gives the same for any
finished run.
"""

from __future__ import annotations

import csv
import json
import os
import xml.etree.ElementTree as ET  # nosec B405 - builds XML; parses nothing
from pathlib import Path
from typing import Any, Final

from reports import runfolder as rf

JUNIT_XML: Final = "junit.xml"
SUMMARY_ENV: Final = "GITHUB_STEP_SUMMARY"
CHART_POINTS: Final = 60  # Mermaid's x axis stays legible at about this many points


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def junit_xml(summary: dict[str, Any], run: dict[str, Any]) -> str:
    """One <testcase> per gate; a failed gate carries <failure> with the gate's message.

    A run that broke (summary "error") or was interrupted adds a failed `run` test case, so a
    run without gates still fails where the exit code fails."""
    suite_name = f"redline.loadtest.{run.get('scenario', 'run')}"
    cases: list[ET.Element] = []
    for gate in summary.get("gates", []):
        case = ET.Element("testcase", classname=suite_name, name=str(gate["name"]), time="0")
        if not gate["passed"]:
            failure = ET.SubElement(case, "failure", message=str(gate["message"]), type="gate")
            failure.text = (
                f"{gate['name']}: measured {gate['actual']}, limit {gate['limit']}\n"
                f"run folder: {run.get('run_id', '')}"
            )
        else:
            ET.SubElement(case, "system-out").text = str(gate["message"])
        cases.append(case)
    problem = summary.get("error") or ("interrupted" if summary.get("interrupted") else None)
    if problem or (not summary.get("passed", False) and not summary.get("gates")):
        case = ET.Element("testcase", classname=suite_name, name="run", time="0")
        ET.SubElement(case, "failure", message=str(problem or "run failed"), type="run")
        cases.append(case)
    failures = sum(1 for c in cases if c.find("failure") is not None)
    suite = ET.Element(
        "testsuite",
        name=suite_name,
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        skipped="0",
        time=str(run.get("duration_s", 0)),
        timestamp=str(run.get("started_at", "")),
    )
    suite.extend(cases)
    suites = ET.Element("testsuites", name="redline", tests=str(len(cases)), failures=str(failures))
    suites.append(suite)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")


def _chart_rows(timeline: Path) -> list[tuple[float, float, float, float]]:
    """(elapsed_s, offered/s, accepted/s, throttled/s) in at most CHART_POINTS buckets."""
    if not timeline.exists():
        return []
    per_second: dict[int, list[float]] = {}
    with timeline.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            try:
                second = int(float(row["elapsed_s"]))
                values = [float(row[c] or 0) for c in ("offered", "accepted", "throttled")]
            except (KeyError, ValueError):
                continue
            totals = per_second.setdefault(second, [0.0, 0.0, 0.0])
            for i, value in enumerate(values):
                totals[i] += value
    if not per_second:
        return []
    first, last = min(per_second), max(per_second)
    width = max(1, -(-(last - first + 1) // CHART_POINTS))
    rows = []
    for start in range(first, last + 1, width):
        seconds = range(start, min(start + width, last + 1))
        sums = [sum(per_second.get(s, [0.0] * 3)[i] for s in seconds) for i in range(3)]
        rows.append((float(start), *(v / len(seconds) for v in sums)))
    return rows


def _mermaid(rows: list[tuple[float, float, float, float]]) -> list[str]:
    if not rows:
        return []
    top = max(max(r[1], r[2], r[3]) for r in rows) or 1.0

    def series(i: int) -> str:
        return ", ".join(f"{r[i]:.0f}" for r in rows)

    return [
        "```mermaid",
        "xychart-beta",
        '  title "records per second: offered (1st line), accepted (2nd), throttled (3rd)"',
        "  x-axis [" + ", ".join(f'"{r[0]:.0f}s"' for r in rows) + "]",
        f'  y-axis "per second" 0 --> {top * 1.1:.0f}',
        f"  line [{series(1)}]",
        f"  line [{series(2)}]",
        f"  line [{series(3)}]",
        "```",
    ]


def job_summary(run_dir: Path) -> str:
    """The job summary in GitHub-flavoured Markdown, from the run folder only."""
    summary = _json(run_dir / rf.SUMMARY_JSON) or {}
    run = _json(run_dir / rf.RUN_JSON) or {}
    audit = _json(run_dir / rf.AUDIT_JSON)
    verdict = "PASS" if summary.get("passed") else "FAIL"
    lines = [
        f"## Redline load test `{run.get('scenario', '?')}`: {verdict}",
        "",
        f"Run `{run.get('run_id', run_dir.name)}` against `{run.get('target', '?')}`"
        f" (environment `{run.get('environment_name', '?')}`),"
        f" {run.get('duration_s', 0):.0f} s.",
        "",
    ]
    knee = summary.get("knee_rps")
    lines.append(
        f"- **Knee**: {knee:.0f} records/s (highest rate sustained)"
        if knee is not None
        else "- **Knee**: not searched in this scenario"
    )
    bottleneck = summary.get("bottleneck")
    lines.append(
        f"- **First bottleneck**: {bottleneck['resource']} ({bottleneck['evidence']})"
        if bottleneck
        else "- **First bottleneck**: nothing throttled in the run window"
    )
    if summary.get("generator_limited"):
        lines.append("- **Warning**: the load generator could not keep the target rate")
    if audit:
        lines.append(
            f"- **Audit**: produced {audit['produced']}, stored {audit['stored']},"
            f" dead-lettered {audit['dead_lettered']}, **lost {audit['lost']}**,"
            f" unexpected {audit['unexpected']}"
        )
    if summary.get("error"):
        lines.append(f"- **Run problem**: {summary['error']}")
    lines += ["", "| gate | result | measured | limit |", "|---|---|---|---|"]
    for gate in summary.get("gates", []):
        mark = "pass" if gate["passed"] else "**FAIL**"
        lines.append(f"| {gate['name']} | {mark} | {gate['actual']:g} | {gate['limit']:g} |")
    if not summary.get("gates"):
        lines.append("| (none) | | | |")
    chart = _mermaid(_chart_rows(run_dir / rf.TIMELINE_CSV))
    if chart:
        lines += ["", *chart]
    report = "report.html" if (run_dir / rf.REPORT_HTML).exists() else rf.REPORT_MD
    lines += [
        "",
        f"The run folder (with `{report}` and `{JUNIT_XML}`) is in this run's artifacts.",
        "",
    ]
    return "\n".join(lines)


def publish(run_dir: Path, environ: dict[str, str] | None = None) -> Path:
    """Write junit.xml into the run folder; append the job summary when CI asks for one."""
    environ = dict(os.environ) if environ is None else environ
    summary = _json(run_dir / rf.SUMMARY_JSON) or {}
    run = _json(run_dir / rf.RUN_JSON) or {}
    junit = run_dir / JUNIT_XML
    junit.write_text(junit_xml(summary, run), encoding="utf-8")
    target = environ.get(SUMMARY_ENV)
    if target:
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.write(job_summary(run_dir))
    return junit
