"""Writes the run folder (docs/run-folder.md; names and columns from reports.runfolder)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from reports import runfolder as rf


def new_run_id(scenario: str, now: dt.datetime | None = None) -> str:
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{scenario}"


def create(results_dir: Path, scenario: str) -> tuple[str, Path]:
    """A new, empty results/<run-id>/ (a numeric suffix when the second is taken)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    base = new_run_id(scenario)
    for suffix in range(100):
        run_id = base if suffix == 0 else f"{base}-{suffix}"
        path = results_dir / run_id
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return run_id, path
    raise RuntimeError(f"cannot create a run folder under {results_dir}")


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n", "utf-8")
    tmp.replace(path)


def write_csv(path: Path, columns: Iterable[str], rows: Iterable[dict[str, Any]]) -> None:
    columns = tuple(columns)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns])


def point_latest(results_dir: Path, run_dir: Path) -> None:
    """results/latest -> <run-id> (relative, replaced atomically)."""
    link = results_dir / rf.LATEST_LINK
    tmp = results_dir / f".{rf.LATEST_LINK}.{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(run_dir.name)
    tmp.replace(link)


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).isoformat(timespec="seconds")


def plain_report(summary: dict[str, Any], audit: dict[str, Any] | None, run: dict[str, Any]) -> str:
    """report.md until the report builder replaces it: the verdict and the numbers behind it."""
    verdict = "PASS" if summary["passed"] else "FAIL"
    lines = [
        f"# Load test {run['run_id']}: {verdict}",
        "",
        f"- scenario: `{run['scenario']}` against `{run['target']}`"
        f" (environment `{run['environment_name']}`)",
        f"- window: {run['started_at']} to {run['ended_at']} ({run['duration_s']:.0f} s)",
    ]
    if summary.get("knee_rps") is not None:
        lines.append(
            f"- knee: **{summary['knee_rps']:.0f} records/s** accepted at the highest rate"
            " sustained"
            + (
                f" (offered {summary['knee_offered_rps']:.0f}/s, target"
                f" {summary['knee_target_rps']:.0f}/s)"
                if summary.get("knee_target_rps") and summary.get("knee_offered_rps")
                else ""
            )
        )
    bottleneck = summary.get("bottleneck")
    if bottleneck:
        lines.append(f"- first bottleneck: **{bottleneck['resource']}** ({bottleneck['evidence']})")
    else:
        lines.append("- first bottleneck: none throttled in the run window")
    if summary.get("table_knee"):
        from loadtests.table_knee import summary_lines

        lines += ["- " + t.strip() for t in summary_lines(summary["table_knee"])]
    if summary.get("generator_limited"):
        lines.append("- WARNING: the load generator could not keep the target rate")
    if audit:
        lines.append(
            f"- audit: produced {audit['produced']}, stored {audit['stored']},"
            f" dead-lettered {audit['dead_lettered']}, lost {audit['lost']},"
            f" unexpected {audit['unexpected']}"
        )
    lines += ["", "## Gates", ""]
    for gate in summary["gates"]:
        lines.append(f"- {'pass' if gate['passed'] else 'FAIL'}: {gate['message']}")
    if not summary["gates"]:
        lines.append("- none")
    if summary.get("error"):
        lines += ["", f"Run error: {summary['error']}"]
    lines.append("")
    return "\n".join(lines)
