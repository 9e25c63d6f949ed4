"""The report builder: run folder in, report.html / report.md / charts / summary.json /
recommended.tfvars.json out. Everything is written to a temporary folder inside the run
folder and moved into place only when all of it was produced: a failure leaves no
half-written report."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from reports import analysis as analyses
from reports import charts as chart_module
from reports import runfolder as rf
from reports import scaling
from reports import sizing as sizings
from reports.prices import Prices, load_prices
from reports.reader import Run, RunFolderError, read_run

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_TARGET_RATE = 10_000_000.0
ERROR_SHARE_WORTH_A_LINE = 0.01


@dataclass(frozen=True)
class BuildOptions:
    target_rate: float | None = None
    utilization: float = sizings.DEFAULT_UTILIZATION
    prices_file: str | None = None
    keep_modes: bool = False


@dataclass(frozen=True)
class Built:
    run_dir: Path
    files: tuple[str, ...]
    summary: dict[str, Any]


def check_options(options: BuildOptions) -> None:
    if options.target_rate is not None and not (
        math.isfinite(options.target_rate) and 0 < options.target_rate <= MAX_TARGET_RATE
    ):
        raise RunFolderError(
            f"--target-rate (TARGET_RATE) must be a number of records/s in"
            f" (0, {MAX_TARGET_RATE:,.0f}], got {options.target_rate:g}"
        )
    if not 0.2 <= options.utilization <= 0.95:
        raise RunFolderError(
            f"--utilization must be between 0.2 and 0.95 (share of each provisioned limit"
            f" to plan for), got {options.utilization:g}"
        )


def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = lambda v, digits=0: "n/a" if v is None else f"{v:,.{digits}f}"
    env.filters["money"] = lambda v: f"${v:,.2f}"
    env.filters["pct"] = lambda v: "n/a" if v is None else f"{v:.0%}"
    return env


def _iso(epoch: float | None) -> str:
    return analyses.iso(epoch) if epoch is not None else "n/a"


def _gates(run: Run) -> tuple[list[dict[str, Any]], bool | None]:
    summary = run.summary or {}
    gates = [g for g in summary.get("gates") or [] if isinstance(g, dict)]
    passed = summary.get("passed")
    return gates, passed if isinstance(passed, bool) else None


def _lost(run: Run) -> int | None:
    if run.audit is not None and isinstance(run.audit.get("lost"), int | float):
        return int(run.audit["lost"])
    lost = (run.summary or {}).get("lost")
    return int(lost) if isinstance(lost, int | float) else None


def _bottleneck(run: Run, a: analyses.Analysis) -> dict[str, Any] | None:
    """The first throttle found in the folder; else what the load test named (a consumer
    falling behind, the load generator...), which only it could judge while running."""
    if a.bottleneck is not None:
        return a.bottleneck.to_dict()
    theirs = (run.summary or {}).get("bottleneck")
    if isinstance(theirs, dict) and theirs.get("resource") and theirs.get("evidence"):
        return theirs
    return None


def _table_lines(run: Run) -> list[str]:
    """A table-bound search: observed knee, prediction, agreement and burst (loadtests)."""
    from loadtests.table_knee import summary_lines

    section = (run.summary or {}).get("table_knee")
    return [line.strip() for line in summary_lines(section)] if section else []


def verdict(run: Run, a: analyses.Analysis) -> dict[str, Any]:
    gates, passed = _gates(run)
    lost = _lost(run)
    unit = "records/s" if a.ingest is not None else "requests/s"
    if a.knee.rate is None:
        headline = f"No rate was sustained: the knee is below {a.levels[0].target_rate:,.0f} {unit}"
    elif a.knee.reached:
        headline = (
            f"Carries {a.knee.rate:,.0f} {unit} (accepted; offered"
            f" {a.knee.offered_rate or 0:,.0f}) before something gives"
        )
    else:
        headline = (
            f"Carried every rate offered, up to {a.knee.rate:,.0f} {unit}: the knee is higher"
        )
    bottleneck = _bottleneck(run, a)
    if a.bottleneck:
        headline += f"; {a.bottleneck.resource} throttled first."
    elif bottleneck:
        headline += f"; nothing throttled, the limit was the {bottleneck['resource']}."
    else:
        headline += "; nothing throttled."
    failures = []
    for family, what in ((a.ingest, "records"), (a.api, "API requests")):
        if family is not None and family.total_offered > 0:
            share = float(family.errors.sum()) / family.total_offered
            if share >= ERROR_SHARE_WORTH_A_LINE:
                failures.append(f"{share:.1%} of the {what} failed")
    if failures:
        text = "; ".join(failures)
        headline += " " + text[0].upper() + text[1:] + "."
    status = "pass"
    if passed is False or (lost is not None and lost > 0):
        status = "fail"
    elif passed is None:
        status = "unknown"
    return {
        "headline": headline,
        "status": status,
        "passed": passed,
        "gates": gates,
        "lost": lost,
        "unit": unit,
        "knee": a.knee,
        "bottleneck": bottleneck,
        "error": (run.summary or {}).get("error"),
        "table_lines": _table_lines(run),
        "generator_limited": bool((run.summary or {}).get("generator_limited"))
        or any(s.get("generator_limited") for s in run.steps),
    }


def _facts(run: Run, a: analyses.Analysis) -> list[tuple[str, str]]:
    info = run.info
    env = run.environment
    versions = info.get("versions") or {}
    duration = info.get("duration_s") or a.duration_s
    facts = [
        ("run", str(info.get("run_id"))),
        ("scenario", str(info.get("scenario"))),
        ("target", str(info.get("target"))),
        ("environment", f"{info.get('environment_name', env.environment)} ({env.aws_region})"),
        ("window", f"{info.get('started_at', 'n/a')} to {info.get('ended_at', 'n/a')}"),
        ("duration", f"{float(duration):,.0f} s"),
        (
            "stream",
            f"{env.stream.mode.value}, {env.stream.shard_count} shard(s)",
        ),
        (
            "table",
            f"{env.table.billing_mode.value}, {env.table.write_capacity:,} WCU /"
            f" {env.table.read_capacity:,} RCU (GSI {env.table.type_index.write_capacity:,} WCU /"
            f" {env.table.type_index.read_capacity:,} RCU)",
        ),
        (
            "ingest",
            f"batch {env.ingest.batch_size}, parallelization {env.ingest.parallelization_factor},"
            f" reserved concurrency {env.ingest.reserved_concurrency}",
        ),
        ("record size", f"{a.workload.record_bytes:,.0f} B (partition key included)"),
        ("key strategy", a.workload.key_strategy),
        ("versions", ", ".join(f"{k} {v}" for k, v in versions.items()) or "n/a"),
    ]
    return facts


def _sizing_dict(s: sizings.Sizing) -> dict[str, Any]:
    return {
        "label": s.label,
        "records_per_s": s.records_per_s,
        "reads_per_s": s.reads_per_s,
        "shards": s.shards,
        "shards_at_limit": s.shards_at_limit,
        "table_wcu": s.table_wcu,
        "index_wcu": s.index_wcu,
        "table_rcu": s.table_rcu,
        "index_rcu": s.index_rcu,
        "on_demand_write_units_per_s": s.write_units_per_s,
        "on_demand_read_units_per_s": s.read_units_per_s,
        "parallelization_factor": s.parallelization_factor,
        "ingest_concurrency": s.ingest_concurrency,
        "api_concurrency": s.api_concurrency,
        "monthly_cost": {
            c.service: {o.name: round(o.cost.total, 2) for o in c.options} for c in s.choices
        },
        "cheaper": {c.service: c.cheaper.name for c in s.choices},
        "cheapest_total": round(s.cheapest_total, 2),
        "warnings": s.warnings,
    }


def _summary(
    run: Run,
    a: analyses.Analysis,
    rows: list[sizings.Sizing],
    chosen: sizings.Sizing,
    changes: list[str],
    prices: Prices,
    options: BuildOptions,
    files: list[str],
) -> dict[str, Any]:
    base = dict(run.summary or {})
    gates, passed = _gates(run)
    first_failed = a.knee.first_failed
    bottleneck = _bottleneck(run, a)
    theirs = base.get("bottleneck")
    if (
        isinstance(theirs, dict)
        and bottleneck is not None
        and str(theirs.get("resource", "")).lower() != str(bottleneck["resource"]).lower()
    ):
        base["loadtest_bottleneck"] = theirs  # kept: the load test judged it while running
    base.update(
        {
            "knee_rps": a.knee.rate,
            "knee": {
                "rate": a.knee.rate,
                "reached": a.knee.reached,
                "source": a.knee.source,
                "target_rate": a.knee.target_rate,
                "offered_rate": a.knee.offered_rate,
                "first_failed_rate": first_failed.target_rate if first_failed else None,
                "first_failed_reasons": first_failed.reasons if first_failed else None,
            },
            "bottleneck": bottleneck,
            "gates": gates,
            "passed": passed,
            "lost": _lost(run),
            "sizing": [_sizing_dict(s) for s in rows],
            "recommended": {
                "label": chosen.label,
                "records_per_s": chosen.records_per_s,
                "file": rf.RECOMMENDED_TFVARS,
                "changes": changes,
            },
            "report": {
                "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "files": files,
                "utilization_target": options.utilization,
                "prices": {
                    "region": prices.region,
                    "currency": prices.currency,
                    "checked": prices.checked,
                },
            },
        }
    )
    return base


def _chosen(rows: list[sizings.Sizing], options: BuildOptions) -> sizings.Sizing:
    if options.target_rate is not None:
        return next(s for s in rows if s.label == "target")
    label = f"{sizings.DEFAULT_CHOSEN_MULTIPLIER}x"
    return next(s for s in rows if s.label == label)


def build(run_dir: Path, options: BuildOptions | None = None) -> Built:
    """Read the run folder, write the report into it; RunFolderError on bad input."""
    options = options or BuildOptions()
    check_options(options)
    run = read_run(run_dir)
    prices = load_prices(options.prices_file)
    a = analyses.analyse(run)
    baseline = a.knee.rate
    if baseline is None:  # nothing sustained: size from what was carried at the lowest rate
        baseline = float(min(lv.accepted_rate for lv in a.levels)) if a.levels else 0.0
    if baseline <= 0 and options.target_rate is None:
        raise RunFolderError(
            "no rate was sustained and nothing was accepted: there is no baseline to size"
            " from (give --target-rate / TARGET_RATE)"
        )
    read_ratio = (a.workload.read_rate / baseline) if baseline > 0 else 0.0
    if a.ingest is None:  # a read-only run: the rates are API requests/s
        read_ratio = 1.0
    rows = [
        sizings.size(
            label,
            rate if a.ingest is not None else 0.0,
            rate * read_ratio,
            a.workload,
            run.environment,
            prices,
            options.utilization,
        )
        for label, rate in sizings.targets(baseline, options.target_rate)
        if rate > 0
    ]
    chosen = _chosen(rows, options)
    before = run.info["environment"]
    recommended, changes = sizings.recommend(
        run.environment, chosen, options.keep_modes, as_used=run.info["environment"]
    )
    scaling_analysis = scaling.analyse(run)
    scaling.apply_recommendation(recommended, changes, scaling_analysis)
    env_name = str(run.info.get("environment_name") or run.environment.environment)
    diff = sizings.tfvars_diff(before, recommended, f"{env_name}.tfvars.json")
    charts = chart_module.all_charts(a, options.utilization)
    context = {
        "run": run,
        "a": a,
        "verdict": verdict(run, a),
        "rows": rows,
        "chosen": chosen,
        "changes": changes,
        "diff": diff,
        "facts": _facts(run, a),
        "charts": charts,
        "charts_dir": rf.CHARTS_DIR,
        "prices": prices,
        "options": options,
        "utilization_target": options.utilization,
        "limits_emulated": run.limits_emulated,
        "workload": a.workload,
        "iso": _iso,
        "scaling": scaling_analysis,
        "resharding": scaling.resharding(run),
    }
    files = [
        rf.REPORT_HTML,
        rf.REPORT_MD,
        rf.SUMMARY_JSON,
        rf.RECOMMENDED_TFVARS,
        rf.RECOMMENDED_DIFF,
        *(f"{rf.CHARTS_DIR}/{c.name}.png" for c in charts),
    ]
    summary = _summary(run, a, rows, chosen, changes, prices, options, files)
    if scaling_analysis is not None:
        summary["scaling"] = scaling.summary(scaling_analysis)
    if context["resharding"] is not None:
        summary["resharding"] = context["resharding"]
    templates = _templates()
    outputs = {
        rf.REPORT_HTML: templates.get_template("report.html.j2").render(**context),
        rf.REPORT_MD: templates.get_template("report.md.j2").render(**context),
        rf.SUMMARY_JSON: json.dumps(summary, indent=2, default=_json_default) + "\n",
        rf.RECOMMENDED_TFVARS: sizings.tfvars_text(recommended),
        rf.RECOMMENDED_DIFF: diff or "# no change: the environment already carries the target\n",
    }
    _write_all(run_dir, outputs, {f"{c.name}.png": c.png for c in charts})
    return Built(run_dir, tuple(files), summary)


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _write_all(run_dir: Path, texts: dict[str, str], pngs: dict[str, bytes]) -> None:
    """Write everything into a temporary folder, then move each piece into place."""
    staging = Path(tempfile.mkdtemp(prefix=".report-", dir=run_dir))
    try:
        for name, text in texts.items():
            (staging / name).write_text(text, encoding="utf-8")
        charts = staging / rf.CHARTS_DIR
        charts.mkdir()
        for name, data in pngs.items():
            (charts / name).write_bytes(data)
        old_charts = run_dir / rf.CHARTS_DIR
        retired = None
        if old_charts.exists():
            retired = staging / ".charts-old"
            os.replace(old_charts, retired)
        os.replace(charts, old_charts)
        for name in texts:
            os.replace(staging / name, run_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
