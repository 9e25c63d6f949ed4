"""The Redline tab in Locust's web UI (`make loadtest UI=1`).

Locust's React UI shows extra tabs declared in `template_args["extended_tabs"]` and fills
each from the `extended_stats` of its `/stats/requests` poll; this module declares a
"Redline" tab and adds its rows to that poll: the phase, the target / offered / accepted /
throttled records/s of the last seconds, the producer's p99, reads and 429s, the probes'
produced->readable p95, the knee search's steps so far, the loss audit of the current start
(its progress, then its figures and verdict) and where the report will be. `/redline/live`
answers the live figures as JSON, `/redline/audit` each start's audit.

The run is the headless run's: same shape, same pacing, the controller decides when it ends.
When the test stops (its plan done, or Stop pressed in the UI) the master audits that start
(loadtests.ui_audit) and the UI stays open: Start runs the plan again, with its own audit.
Quitting (Ctrl+C where `make loadtest` runs) ends Locust, and `make loadtest` writes the
summary and report as headless (a run stopped before its plan ended is an interrupted run).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Final

from loadtests import timeline as tl
from loadtests import ui_audit
from reports import runfolder as rf

TAB_KEY: Final = "redline"
LIVE_WINDOW_S: Final = 5.0
TABLE: Final = [{"key": "figure", "title": "Figure"}, {"key": "value", "title": "Value"}]


def live_figures(controller: Any) -> dict[str, Any]:
    """What the controller saw over the last seconds (the same window as the progress line)."""
    now = time.time()
    start, end = now - controller.report_lag - LIVE_WINDOW_S, now - controller.report_lag
    put = controller.timeline.window([tl.PUT_RECORDS], start, end)
    reads = controller.timeline.window([tl.API_GET_EVENT, tl.API_QUERY], start, end)
    e2e = controller.timeline.window([tl.E2E_PROBE], start, end)
    phase = controller.phases[-1] if controller.phases else None
    run_dir = Path(controller.config.run_dir)
    return {
        "elapsed_s": round(now - controller.started_at, 1) if controller.started_at else 0.0,
        "phase": phase.name if phase else "starting",
        "target_records_per_s": phase.rate if phase else 0.0,
        "offered_records_per_s": put.rate("offered"),
        "accepted_records_per_s": put.rate("accepted"),
        "throttled_records_per_s": put.rate("throttled"),
        "producer_p99_ms": put.percentile(99) if put.samples else None,
        "reads_per_s": reads.rate("offered"),
        "reads_429_per_s": reads.rate("throttled"),
        "e2e_p95_ms": e2e.percentile(95) if e2e.samples else None,
        "knee_records_per_s": controller.knee,
        "steps": [
            {
                "step": s.step,
                "phase": s.phase,
                "target": s.target_rate,
                "accepted": s.accepted_rate,
                "throttled": s.throttled_rate,
                "sustained": s.sustained,
                "reasons": s.reasons,
            }
            for s in controller.steps
        ],
        "done": controller.done,
        "report": str(run_dir / rf.REPORT_HTML),
        "audit": str(run_dir / rf.AUDIT_JSON),
    }


def _number(value: float | None, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:,.0f}{unit}"


def table_rows(figures: dict[str, Any]) -> list[dict[str, str]]:
    rows = [
        ("phase", f"{figures['phase']} ({figures['elapsed_s']:.0f} s)"),
        ("target records/s", _number(figures["target_records_per_s"])),
        ("offered records/s", _number(figures["offered_records_per_s"])),
        ("accepted records/s", _number(figures["accepted_records_per_s"])),
        ("throttled records/s", _number(figures["throttled_records_per_s"])),
        ("producer p99", _number(figures["producer_p99_ms"], " ms")),
        ("reads/s (429/s)", f"{figures['reads_per_s']:,.0f} ({figures['reads_429_per_s']:,.0f})"),
        ("e2e produced->readable p95", _number(figures["e2e_p95_ms"], " ms")),
        ("knee", _number(figures["knee_records_per_s"], " records/s")),
    ]
    for step in figures["steps"]:
        verdict = "sustained" if step["sustained"] else f"NOT sustained: {step['reasons']}"
        rows.append(
            (
                f"step {step['step']} {step['phase']}",
                f"target {step['target']:,.0f}, accepted {step['accepted']:,.0f},"
                f" throttled {step['throttled']:,.0f}: {verdict}",
            )
        )
    rows += audit_rows(figures.get("audit_status"))
    rows.append(("report", f"{figures['report']} (built when Locust quits: Ctrl+C)"))
    return [{"figure": figure, "value": value} for figure, value in rows]


def audit_rows(current: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The current start's audit: what it is doing, then its figures and verdict."""
    if current is None:
        return [("audit", "after the test stops")]
    title = f"audit (start {current['start']})"
    state = current["state"]
    if state == ui_audit.WAITING:
        return [(title, "after the test stops (its plan done, or Stop)")]
    if state == ui_audit.COLLECTING:
        return [(title, "collecting the last acknowledged ids")]
    if state in (ui_audit.DRAINING, ui_audit.READING):
        drain = current["draining"]
        return [
            (
                title,
                f"{state}: {drain['stored']:,} of {drain['of']:,} sampled acknowledged"
                " records stored",
            )
        ]
    if state != ui_audit.DONE:
        return [(title, f"{state}: {current['error'] or current['verdict']}")]
    result = current["result"]
    return [
        (title, current["verdict"]),
        ("produced (acknowledged)", f"{result['produced']:,}"),
        ("stored", f"{result['stored']:,}"),
        ("lost", f"{result['lost']:,}"),
        ("dead-lettered", f"{result['dead_lettered']:,}"),
        ("duplicates (acknowledged twice)", f"{current['duplicates_acknowledged']:,}"),
        ("unexpected (stored, not acknowledged)", f"{result['unexpected']:,}"),
        ("run folder", current["run_folder"]),
    ]


def install(environment: Any, controller: Any, audits: ui_audit.UiAudits) -> None:
    """Add the Redline tab and its rows, /redline/live and /redline/audit, to Locust's web UI."""
    from flask import Response, jsonify, request  # Locust's own web server

    web_ui = environment.web_ui
    web_ui.template_args["extended_tabs"] = [{"title": "Redline", "key": TAB_KEY}]
    web_ui.template_args["extended_tables"] = [{"key": TAB_KEY, "structure": TABLE}]

    @web_ui.app.after_request
    def _with_redline_rows(response: Any) -> Any:
        if request.path != "/stats/requests" or response.status_code != 200:
            return response
        body = response.get_json(silent=True) or {}
        figures = {**live_figures(controller), "audit_status": audits.status()["current"]}
        rows = table_rows(figures)
        body["extended_stats"] = [{"key": TAB_KEY, "data": rows}]
        response.set_data(json.dumps(body))
        return response

    @web_ui.app.before_request
    def _stop_ends_the_load_then_audits() -> Any:
        """Stop ends the load at once; the test stops when its audit is done (the shape), so
        the tab keeps refreshing meanwhile. Stop during the audit stops the test as Locust does."""
        if request.path != "/stop" or request.method != "POST":
            return None
        if controller.started_at is None or controller.done:
            return None
        controller.end_early()
        return jsonify({"success": True, "message": "Load stopped: auditing (the Redline tab)"})

    @web_ui.app.route("/redline/live")
    def _live() -> Any:
        return Response(json.dumps(live_figures(controller)), mimetype="application/json")

    @web_ui.app.route("/redline/audit")
    def _audit() -> Any:
        return Response(json.dumps(audits.status()), mimetype="application/json")
