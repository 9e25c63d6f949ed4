"""A run folder as pandas DataFrames: `from reports import load_run`.

    run = load_run("results/latest")
    run.timeline          # one row per second and request type, indexed by time (UTC)
    run.steps             # one row per rate the search held, indexed by its start (UTC)
    run.cloudwatch        # the run window's CloudWatch datapoints, long format, by time (UTC)
    run.audit, run.summary, run.gates

The folder is read and validated by the same reader as the report (reports.reader: a bad
file raises RunFolderError naming the file, line or column), and the report's analysis reads
the same timeline frame (`Run.timeline_frame`), so a figure in a notebook and in the report
come from one parse. Columns are typed: counts and rates float64 (NaN where the CSV is
empty), labels categorical, flags bool, times datetime64 UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import EnvironmentConfig
from reports import runfolder as rf
from reports.reader import Run, read_run

TIME_INDEX = "time"
GATE_COLUMNS = ("name", "limit", "actual", "passed", "message")


def _utc(epoch_seconds: Any) -> pd.DatetimeIndex:
    stamps = pd.to_datetime(np.asarray(epoch_seconds, dtype=float), unit="s", utc=True)
    return pd.DatetimeIndex(stamps, name=TIME_INDEX)


def timeline_frame(run: Run) -> pd.DataFrame:
    """timeline.csv: `timestamp` (epoch s, int64) and every column of the contract."""
    table = run.timeline
    columns: dict[str, Any] = {}
    for column in rf.TIMELINE_COLUMNS:
        if column in table.numbers:
            columns[column] = table.numbers[column]
        elif column in table.text:
            columns[column] = pd.Categorical(table.text[column])
    frame = pd.DataFrame(columns, index=_utc(table.numbers["timestamp"]))
    frame["timestamp"] = frame["timestamp"].astype(np.int64)
    return frame


def steps_frame(run: Run) -> pd.DataFrame:
    """steps.csv (the capacity search's steps); empty with the contract's columns if none."""
    if not run.steps:
        return pd.DataFrame(columns=list(rf.STEPS_COLUMNS), index=_utc([]))
    frame = pd.DataFrame(run.steps)
    frame.index = _utc(frame["started_at"])
    frame["step"] = frame["step"].astype(np.int64)
    frame["phase"] = frame["phase"].astype("category")
    for flag in ("sustained", "generator_limited"):
        frame[flag] = frame[flag].astype(bool)
    return frame[[c for c in rf.STEPS_COLUMNS if c in frame.columns]]


def cloudwatch_frame(run: Run) -> pd.DataFrame:
    """cloudwatch.csv in long format: one row per datapoint, sorted by series then time."""
    parts = []
    for (namespace, metric, stat), by_dimension in run.cloudwatch.items():
        for dimensions, series in by_dimension.items():
            size = series.timestamps.size
            parts.append(
                pd.DataFrame(
                    {
                        "timestamp": series.timestamps.astype(np.int64),
                        "period_s": np.full(size, series.period_s),
                        "namespace": [namespace] * size,
                        "metric": [metric] * size,
                        "dimensions": [dimensions] * size,
                        "stat": [stat] * size,
                        "value": series.values,
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=list(rf.CLOUDWATCH_COLUMNS), index=_utc([]))
    frame = pd.concat(parts, ignore_index=True)
    for label in ("namespace", "metric", "dimensions", "stat"):
        frame[label] = frame[label].astype("category")
    frame.index = _utc(frame["timestamp"])
    return frame


def _one_row(values: dict[str, Any] | None, run_id: str, drop: tuple[str, ...]) -> pd.DataFrame:
    if not values:
        return pd.DataFrame(index=pd.Index([], name="run_id"))
    flat = pd.json_normalize({k: v for k, v in values.items() if k not in drop}, sep=".")
    flat.index = pd.Index([run_id], name="run_id")
    return flat


@dataclass(frozen=True)
class RunData:
    """One run folder's tables (see the module's docstring)."""

    path: Path
    info: dict[str, Any]  # run.json as written
    environment: EnvironmentConfig
    timeline: pd.DataFrame
    steps: pd.DataFrame
    cloudwatch: pd.DataFrame
    audit: pd.DataFrame  # one row (run_id): produced, stored, dead_lettered, lost, ...
    summary: pd.DataFrame  # one row (run_id): knee_rps, passed, lost, bottleneck.*, measures.*
    gates: pd.DataFrame  # one row per gate: limit, actual, passed, message

    def metric(self, metric: str, stat: str = "Sum", dimensions: str | None = None) -> pd.Series:
        """One CloudWatch series by time, e.g. run.metric("WriteThrottleEvents")."""
        cw = self.cloudwatch
        pick = (cw["metric"] == metric) & (cw["stat"] == stat)
        if dimensions is not None:
            pick &= cw["dimensions"] == dimensions
        return cw.loc[pick, "value"].rename(metric)


def load_run(path: str | Path) -> RunData:
    """Read, validate and type one run folder (e.g. "results/latest")."""
    run = read_run(Path(path))
    run_id = str(run.info.get("run_id", run.path.name))
    summary = run.summary or {}
    gates = pd.DataFrame(summary.get("gates") or [], columns=list(GATE_COLUMNS))
    return RunData(
        path=run.path,
        info=run.info,
        environment=run.environment,
        timeline=run.timeline_frame,
        steps=steps_frame(run),
        cloudwatch=cloudwatch_frame(run),
        audit=_one_row(run.audit, run_id, drop=("lost_sample", "unexpected_sample")),
        summary=_one_row(summary, run_id, drop=("gates", "steps")),
        gates=gates.set_index("name"),
    )
