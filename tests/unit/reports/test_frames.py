"""`from reports import load_run`: a run folder as typed, time-indexed pandas DataFrames, read
and validated by the report's own reader, whose analysis uses the same timeline frame."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest

from reports import analysis, load_run, reader
from reports import runfolder as rf
from reports.reader import RunFolderError


def _csv_rows(path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_timeline_is_time_indexed_utc_with_typed_columns(capacity_run):
    run = load_run(str(capacity_run))
    timeline = run.timeline
    rows = _csv_rows(capacity_run / rf.TIMELINE_CSV)
    assert len(timeline) == len(rows)
    assert isinstance(timeline.index, pd.DatetimeIndex) and str(timeline.index.tz) == "UTC"
    assert timeline.index.name == "time"
    assert timeline.index[0] == pd.Timestamp(int(rows[0]["timestamp"]), unit="s", tz="UTC")
    assert timeline["timestamp"].dtype == "int64"
    assert timeline["offered"].dtype == "float64"
    assert isinstance(timeline["request_type"].dtype, pd.CategoricalDtype)
    assert list(timeline.columns) == list(rf.TIMELINE_COLUMNS)
    assert timeline["offered"].sum() == pytest.approx(sum(float(r["offered"]) for r in rows))


def test_steps_cloudwatch_audit_summary_and_gates(capacity_run):
    run = load_run(capacity_run)
    steps_csv = _csv_rows(capacity_run / rf.STEPS_CSV)
    assert len(run.steps) == len(steps_csv)
    assert run.steps["sustained"].dtype == bool
    assert run.steps.index[0] == pd.Timestamp(float(steps_csv[0]["started_at"]), unit="s", tz="UTC")

    cloudwatch_csv = _csv_rows(capacity_run / rf.CLOUDWATCH_CSV)
    assert len(run.cloudwatch) == len(cloudwatch_csv)
    assert run.cloudwatch["value"].sum() == pytest.approx(
        sum(float(r["value"]) for r in cloudwatch_csv)
    )
    incoming = run.metric("IncomingRecords")
    assert isinstance(incoming.index, pd.DatetimeIndex) and incoming.sum() > 0

    audit = json.loads((capacity_run / rf.AUDIT_JSON).read_text())
    summary = json.loads((capacity_run / rf.SUMMARY_JSON).read_text())
    run_id = run.info["run_id"]
    assert run.audit.loc[run_id, "produced"] == audit["produced"]
    assert run.summary.loc[run_id, "knee_rps"] == pytest.approx(summary["knee_rps"])
    assert list(run.gates.index) == [g["name"] for g in summary["gates"]]


def test_the_reports_analysis_reads_the_same_timeline_frame(capacity_run):
    run = reader.read_run(capacity_run)
    frame = run.timeline_frame
    assert run.timeline_frame is frame  # parsed once, shared
    per_second = analysis._per_second(run, (rf.PUT_RECORDS,), 0.0)
    puts = frame[frame["request_type"] == rf.PUT_RECORDS]
    assert per_second.offered.sum() == pytest.approx(puts["offered"].sum())
    assert len(per_second.offered) == puts["timestamp"].max() - puts["timestamp"].min() + 1


def test_a_damaged_folder_says_which_file_and_line(capacity_run):
    path = capacity_run / rf.TIMELINE_CSV
    lines = path.read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 2)[0]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RunFolderError, match=r"timeline.csv line 4 has \d+ of \d+ fields"):
        load_run(capacity_run)


def test_a_missing_folder_points_at_make_loadtest(tmp_path):
    with pytest.raises(RunFolderError, match="does not exist"):
        load_run(tmp_path / "results" / "latest")
