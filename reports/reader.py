"""Reads and validates a run folder (reports.runfolder is the contract).

Every problem raises RunFolderError with one message that names the file, the line or the
column, so `python -m reports` can print it and exit 2 before writing anything.
"""

from __future__ import annotations

import csv
import functools
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import EnvironmentConfig, EnvironmentConfigError, parse_environment
from reports import runfolder as rf

RUN_JSON_REQUIRED = ("run_id", "scenario", "target", "environment")
TIMELINE_NUMERIC = tuple(c for c in rf.TIMELINE_COLUMNS if c not in ("phase", "request_type"))
STEPS_REQUIRED = tuple(c for c in rf.STEPS_COLUMNS if c not in rf.STEPS_OPTIONAL_COLUMNS)
STEPS_NUMERIC = tuple(
    c for c in rf.STEPS_COLUMNS if c not in ("phase", "sustained", "reasons", "generator_limited")
)


class RunFolderError(ValueError):
    """The folder cannot be reported on; the message says which file, line or column."""


@dataclass
class Table:
    """A CSV read into columns: numbers as float arrays (NaN where empty), text as lists."""

    numbers: dict[str, np.ndarray]
    text: dict[str, list[str]]
    rows: int

    def mask(self, column: str, values: tuple[str, ...] | str) -> np.ndarray:
        wanted = (values,) if isinstance(values, str) else values
        return np.fromiter((v in wanted for v in self.text[column]), bool, count=self.rows)


@dataclass
class Series:
    timestamps: np.ndarray
    values: np.ndarray
    period_s: float


@dataclass
class Run:
    path: Path
    info: dict[str, Any]  # run.json
    environment: EnvironmentConfig
    timeline: Table
    steps: list[dict[str, Any]] = field(default_factory=list)
    # (namespace, metric, stat) -> dimensions -> series
    cloudwatch: dict[tuple[str, str, str], dict[str, Series]] = field(default_factory=dict)
    audit: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None

    @functools.cached_property
    def timeline_frame(self) -> Any:
        """The timeline as load_run's typed, time-indexed DataFrame (built once, on use)."""
        from reports.frames import timeline_frame  # pandas only when a frame is asked for

        return timeline_frame(self)

    @property
    def limits_emulated(self) -> bool:
        return bool(self.info.get("limits_emulated", self.info.get("target") == "local"))

    def metric(
        self, namespace: str, name: str, stat: str, dimension: str | None = None
    ) -> Series | None:
        """One CloudWatch series; `dimension` picks e.g. "FunctionName=redline-ingest-local"."""
        by_dimension = self.cloudwatch.get((namespace, name, stat))
        if not by_dimension:
            return None
        if dimension is not None:
            return by_dimension.get(dimension)
        return next(iter(by_dimension.values())) if len(by_dimension) == 1 else None


def _json(path: Path, required: bool) -> Any:
    if not path.exists():
        if required:
            raise RunFolderError(f"{path} is missing")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RunFolderError(
            f"{path.name} is not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg});"
            " the file may be truncated"
        ) from None


def _number(text: str, name: str, column: str, line: int) -> float:
    if text == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise RunFolderError(
            f"{name} line {line} column {column}: {text!r} is not a number"
        ) from None


def _check_complete(path: Path) -> None:
    """A CSV writer ends every line with a newline: a file that does not was cut short."""
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) not in (b"\n", b"\r"):
            lines = path.read_bytes().count(b"\n") + 1
            raise RunFolderError(
                f"{path.name} line {lines} is incomplete (no end of line):"
                " the file is truncated or damaged"
            )


def _csv_rows(path: Path, required: tuple[str, ...]) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of a CSV, checked: present, complete, every required column,
    every row as wide as the header (blank lines dropped)."""
    name = path.name
    if not path.exists():
        raise RunFolderError(f"{name} is missing from {path.parent}")
    _check_complete(path)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise RunFolderError(f"{name} is empty (no header line): the file is truncated")
        missing = [c for c in required if c not in header]
        if missing:
            raise RunFolderError(
                f"{name} lacks column(s) {', '.join(missing)} (it has: {', '.join(header)})"
            )
        rows = list(reader)
    width = len(header)
    if {len(row) for row in rows} - {width, 0}:  # one pass in C; find the line only if needed
        for line, row in enumerate(rows, start=2):
            if row and len(row) != width:
                raise RunFolderError(
                    f"{name} line {line} has {len(row)} of {width} fields:"
                    " the file is truncated or damaged"
                )
    if any(not row for row in rows):
        rows = [row for row in rows if row]
    return header, rows


def read_csv(
    path: Path, required: tuple[str, ...], numeric: tuple[str, ...], text: tuple[str, ...]
) -> Table:
    name = path.name
    header, body = _csv_rows(path, required)
    wanted = [c for c in (*numeric, *text) if c in header]
    raw = {c: [row[i] for row in body] for c, i in ((c, header.index(c)) for c in wanted)}
    rows = len(body)
    numbers: dict[str, np.ndarray] = {}
    for column in numeric:
        if column not in raw:
            continue
        values = raw[column]
        try:
            numbers[column] = np.array([float(v) if v else math.nan for v in values])
        except ValueError:
            for line, value in enumerate(values, start=2):
                _number(value, name, column, line)
            raise
    return Table(numbers=numbers, text={c: raw[c] for c in text if c in raw}, rows=rows)


def _flag(value: str) -> bool:
    return value.strip().lower() in ("true", "1", "yes")


def _steps(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    table = read_csv(
        path, STEPS_REQUIRED, STEPS_NUMERIC, ("phase", "sustained", "reasons", "generator_limited")
    )
    steps = []
    for i in range(table.rows):
        step: dict[str, Any] = {c: float(v[i]) for c, v in table.numbers.items()}
        step["phase"] = table.text["phase"][i]
        step["sustained"] = _flag(table.text["sustained"][i])
        step["reasons"] = table.text.get("reasons", [""] * table.rows)[i]
        step["generator_limited"] = _flag(table.text.get("generator_limited", [""] * table.rows)[i])
        steps.append(step)
    return steps


def _cloudwatch(path: Path) -> dict[tuple[str, str, str], dict[str, Series]]:
    if not path.exists():
        return {}
    columns = rf.CLOUDWATCH_COLUMNS
    header, body = _csv_rows(path, columns)
    if not body:
        return {}
    cells = [[row[i] for row in body] for i in (header.index(c) for c in columns)]
    text = dict(zip(columns, cells, strict=True))
    numbers = {}
    for column in ("timestamp", "period_s", "value"):
        try:
            numbers[column] = np.array(text[column], dtype=float)
        except ValueError:
            for line, value in enumerate(text[column], start=2):
                _number(value, path.name, column, line)
            raise
    keys = np.array(
        [
            f"{n}\x1f{m}\x1f{s}\x1f{d}"
            for n, m, s, d in zip(
                text["namespace"], text["metric"], text["stat"], text["dimensions"], strict=True
            )
        ]
    )
    # one stable sort by series then time, then a slice per series (fast on 100,000s of rows)
    order = np.lexsort((numbers["timestamp"], keys))
    keys = keys[order]
    stamps, values, periods = (numbers[c][order] for c in ("timestamp", "value", "period_s"))
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], keys.size]
    result: dict[tuple[str, str, str], dict[str, Series]] = defaultdict(dict)
    for lo, hi in zip(starts, ends, strict=True):
        namespace, metric, stat, dimensions = str(keys[lo]).split("\x1f")
        result[(namespace, metric, stat)][dimensions] = Series(
            timestamps=stamps[lo:hi], values=values[lo:hi], period_s=float(periods[lo])
        )
    return dict(result)


def read_run(path: Path) -> Run:
    """Read and validate everything the report needs from one run folder."""
    if not path.exists():
        hint = " (no run yet: `make loadtest` writes one)" if path.name == rf.LATEST_LINK else ""
        raise RunFolderError(f"{path} does not exist{hint}")
    if not path.is_dir():
        raise RunFolderError(f"{path} is not a folder (give a run folder, e.g. results/latest)")
    if not (path / rf.RUN_JSON).exists():
        raise RunFolderError(
            f"{path} is not a run folder: {rf.RUN_JSON} is missing"
            f" (a run folder holds {rf.RUN_JSON} and {rf.TIMELINE_CSV}; see docs/run-folder.md)"
        )
    info = _json(path / rf.RUN_JSON, required=True)
    if not isinstance(info, dict):
        raise RunFolderError(f"{rf.RUN_JSON} must hold a JSON object")
    missing = [k for k in RUN_JSON_REQUIRED if k not in info]
    if missing:
        raise RunFolderError(f"{rf.RUN_JSON} lacks key(s) {', '.join(missing)}")
    try:
        environment = parse_environment(info["environment"], source=f"{rf.RUN_JSON} environment")
    except EnvironmentConfigError as exc:
        raise RunFolderError(" ".join(str(exc).split())) from None
    timeline = read_csv(
        path / rf.TIMELINE_CSV, rf.TIMELINE_COLUMNS, TIMELINE_NUMERIC, ("phase", "request_type")
    )
    if timeline.rows == 0:
        raise RunFolderError(
            f"the run has no traffic: {rf.TIMELINE_CSV} has a header and no rows"
            " (did the load test start?)"
        )
    if not np.nansum(timeline.numbers["offered"]) > 0:
        raise RunFolderError(
            f"the run has no traffic: {rf.TIMELINE_CSV} has {timeline.rows} rows and 0 records"
            " or requests offered; nothing to report"
        )
    audit = _json(path / rf.AUDIT_JSON, required=False)
    summary = _json(path / rf.SUMMARY_JSON, required=False)
    return Run(
        path=path,
        info=info,
        environment=environment,
        timeline=timeline,
        steps=_steps(path / rf.STEPS_CSV),
        cloudwatch=_cloudwatch(path / rf.CLOUDWATCH_CSV),
        audit=audit if isinstance(audit, dict) else None,
        summary=summary if isinstance(summary, dict) else None,
    )
