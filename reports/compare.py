"""`make compare A=results/<a> B=results/<b>`: did the change make the pipeline slower, lossier
or dearer? Each figure side by side with the change in percent, flagged when it got worse
by more than the tolerance."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reports import analysis as analyses
from reports import sizing as sizings
from reports.prices import load_prices
from reports.reader import Run, read_run

ERROR_RATE_FLOOR = 0.001  # error shares below 0.1% are noise, not a regression


@dataclass(frozen=True)
class Figure:
    name: str
    unit: str
    a: float | None
    b: float | None
    higher_is_better: bool
    worse: bool

    @property
    def change(self) -> float | None:
        if self.a is None or self.b is None:
            return None
        if self.a == 0:
            return 0.0 if self.b == 0 else math.inf
        return (self.b - self.a) / abs(self.a)


@dataclass(frozen=True)
class Comparison:
    a: Path
    b: Path
    tolerance: float
    figures: tuple[Figure, ...]

    @property
    def regressions(self) -> list[Figure]:
        return [f for f in self.figures if f.worse]


def _knee_level(a: analyses.Analysis):
    if a.knee.rate is None:
        return None
    return next(
        (lv for lv in a.levels if lv.target_rate == a.knee.target_rate and lv.sustained), None
    )


def _lost(run: Run) -> float | None:
    if run.audit and isinstance(run.audit.get("lost"), int | float):
        return float(run.audit["lost"])
    lost = (run.summary or {}).get("lost")
    return float(lost) if isinstance(lost, int | float) else None


def _error_rate(a: analyses.Analysis) -> float:
    family = a.primary
    offered = float(np.nansum(family.offered))
    return float(np.nansum(family.errors)) / offered if offered else 0.0


def _throttled_share(a: analyses.Analysis) -> float:
    family = a.primary
    offered = float(np.nansum(family.offered))
    return float(np.nansum(family.throttled)) / offered if offered else 0.0


def _monthly_cost(run: Run, a: analyses.Analysis, rate: float | None) -> float | None:
    if not rate:
        return None
    read_ratio = a.workload.read_rate / a.knee.rate if a.knee.rate else 0.0
    sized = sizings.size(
        "compare", rate, rate * read_ratio, a.workload, run.environment, load_prices()
    )
    return sized.cheapest_total


def _worse(
    name: str, a: float | None, b: float | None, higher_is_better: bool, tolerance: float
) -> bool:
    if a is None or b is None:
        return False
    if name == "lost":
        return b > a
    if name == "error rate" and b <= ERROR_RATE_FLOOR:
        return False
    if a == 0:
        return (b < 0) if higher_is_better else (b > 0)
    change = (b - a) / abs(a)
    return change < -tolerance if higher_is_better else change > tolerance


def compare(a_dir: Path, b_dir: Path, tolerance: float = 0.10) -> Comparison:
    if not 0 <= tolerance < 10:
        from reports.reader import RunFolderError

        raise RunFolderError(
            f"--tolerance must be a share between 0 and 10 (0.10 = 10%), got {tolerance:g}"
        )
    runs = [read_run(a_dir), read_run(b_dir)]
    found = [analyses.analyse(r) for r in runs]
    knees = [_knee_level(x) for x in found]
    common_rate = found[0].knee.rate
    rows: list[tuple[str, str, float | None, float | None, bool]] = [
        ("knee", "records/s", found[0].knee.rate, found[1].knee.rate, True),
    ]
    for p in ("p50", "p95", "p99"):
        rows.append(
            (
                f"latency {p} at the knee",
                "ms",
                getattr(knees[0], f"latency_{p}_ms") if knees[0] else None,
                getattr(knees[1], f"latency_{p}_ms") if knees[1] else None,
                False,
            )
        )
    rows += [
        ("error rate", "share", _error_rate(found[0]), _error_rate(found[1]), False),
        ("throttled", "share", _throttled_share(found[0]), _throttled_share(found[1]), False),
        ("lost", "records", _lost(runs[0]), _lost(runs[1]), False),
        (
            "write units per record",
            "WCU",
            found[0].workload.write_units_per_record,
            found[1].workload.write_units_per_record,
            False,
        ),
        (
            "monthly cost at A's knee",
            "USD",
            _monthly_cost(runs[0], found[0], common_rate),
            _monthly_cost(runs[1], found[1], common_rate),
            False,
        ),
    ]
    figures = tuple(
        Figure(
            name,
            unit,
            _clean(va),
            _clean(vb),
            hib,
            _worse(name, _clean(va), _clean(vb), hib, tolerance),
        )
        for name, unit, va, vb, hib in rows
    )
    return Comparison(a_dir, b_dir, tolerance, figures)


def _clean(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "share":
        return f"{value:.2%}"
    if unit == "USD":
        return f"${value:,.2f}"
    if unit == "WCU":
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def _change(f: Figure) -> str:
    change = f.change
    if change is None:
        return "n/a"
    if math.isinf(change):
        return "new"
    return f"{change:+.1%}"


def _rows(result: Comparison) -> list[tuple[str, str, str, str, str]]:
    return [
        (
            f.name,
            _fmt(f.a, f.unit),
            _fmt(f.b, f.unit),
            _change(f),
            "WORSE" if f.worse else "",
        )
        for f in result.figures
    ]


def render_text(result: Comparison) -> str:
    header = ("figure", "A", "B", "change", "")
    rows = [header, *_rows(result)]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [f"A: {result.a}", f"B: {result.b}", ""]
    for row in rows:
        lines.append(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
    lines.append("")
    if result.regressions:
        names = ", ".join(f.name for f in result.regressions)
        lines.append(
            f"{len(result.regressions)} figure(s) worse beyond {result.tolerance:.0%}: {names}"
        )
    else:
        lines.append(f"no figure worse beyond {result.tolerance:.0%}")
    return "\n".join(lines)


def render_markdown(result: Comparison) -> str:
    lines = [
        f"# Comparison: `{result.a.name}` (A) vs `{result.b.name}` (B)",
        "",
        "| figure | A | B | change | |",
        "|---|--:|--:|--:|---|",
    ]
    for name, a, b, change, flag in _rows(result):
        lines.append(f"| {name} | {a} | {b} | {change} | {'**' + flag + '**' if flag else ''} |")
    lines.append("")
    verdict = (
        f"{len(result.regressions)} figure(s) worse beyond {result.tolerance:.0%}."
        if result.regressions
        else f"No figure worse beyond {result.tolerance:.0%}."
    )
    lines += [verdict, ""]
    return "\n".join(lines)
