"""The Redline tab in Locust's web UI (`make loadtest UI=1`).

Locust's React UI shows extra tabs declared in `template_args["extended_tabs"]` and fills
each from the `extended_stats` of its `/stats/requests` poll; this module declares a
"Redline" tab and adds its rows to that poll: the phase, the target / offered / accepted /
throttled records/s of the last seconds, the producer's p99, reads and 429s, the probes'
produced->readable p95, the knee search's steps so far, and where the report and the audit
will be. `/redline/live` answers the same figures as JSON.

The run is the headless run's: same shape, same pacing, the controller decides when it ends.
When the test stops (its plan done, or Stop pressed in the UI) Locust quits after a few
seconds (`--autoquit`), so `make loadtest` goes on to the audit and the report as it does
headless; Stop makes it an interrupted run (the folder is kept, the stack stopped).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Final

from loadtests import timeline as tl
from reports import runfolder as rf

TAB_KEY: Final = "redline"
LIVE_WINDOW_S: Final = 5.0
# Locust quits this long after the test stops (--autoquit): the UI shows the final figures.
QUIT_AFTER_STOP_S: Final = 3
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
    end = "written when Locust has quit: make loadtest audits, then builds the report"
    rows += [("audit", f"{figures['audit']} ({end})"), ("report", figures["report"])]
    return [{"figure": figure, "value": value} for figure, value in rows]


def install(environment: Any, controller: Any) -> None:
    """Add the Redline tab and its rows, and /redline/live, to Locust's web UI."""
    from flask import Response, request  # Locust's own web server

    web_ui = environment.web_ui
    web_ui.template_args["extended_tabs"] = [{"title": "Redline", "key": TAB_KEY}]
    web_ui.template_args["extended_tables"] = [{"key": TAB_KEY, "structure": TABLE}]

    @web_ui.app.after_request
    def _with_redline_rows(response: Any) -> Any:
        if request.path != "/stats/requests" or response.status_code != 200:
            return response
        body = response.get_json(silent=True) or {}
        rows = table_rows(live_figures(controller))
        body["extended_stats"] = [{"key": TAB_KEY, "data": rows}]
        response.set_data(json.dumps(body))
        return response

    @web_ui.app.route("/redline/live")
    def _live() -> Any:
        return Response(json.dumps(live_figures(controller)), mimetype="application/json")
