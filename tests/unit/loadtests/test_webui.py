"""The Redline tab's rows and the web UI's command line (loopback only, autostarted)."""

from __future__ import annotations

from loadtests.cli import web_ui_args
from loadtests.webui import install, table_rows

FIGURES = {
    "elapsed_s": 42.4,
    "phase": "probe-1200",
    "target_records_per_s": 1200.0,
    "offered_records_per_s": 1198.6,
    "accepted_records_per_s": 1000.2,
    "throttled_records_per_s": 198.4,
    "producer_p99_ms": 38.0,
    "reads_per_s": 0.0,
    "reads_429_per_s": 0.0,
    "e2e_p95_ms": None,
    "knee_records_per_s": None,
    "steps": [
        {
            "step": 1,
            "phase": "probe-600",
            "target": 600.0,
            "accepted": 599.0,
            "throttled": 0.0,
            "sustained": True,
            "reasons": "",
        },
        {
            "step": 2,
            "phase": "probe-1200",
            "target": 1200.0,
            "accepted": 1000.0,
            "throttled": 200.0,
            "sustained": False,
            "reasons": "throttled 16.7% > 1.0%",
        },
    ],
    "done": False,
    "report": "results/r/report.html",
    "audit": "results/r/audit.json",
}


def test_rows_show_live_rates_steps_and_say_what_is_not_measured_yet():
    rows = {r["figure"]: r["value"] for r in table_rows(FIGURES)}
    assert rows["phase"] == "probe-1200 (42 s)"
    assert rows["offered records/s"] == "1,199"
    assert rows["throttled records/s"] == "198"
    assert rows["e2e produced->readable p95"] == "n/a"  # no probe finished: not a zero
    assert rows["knee"] == "n/a"
    assert rows["step 1 probe-600"] == "target 600, accepted 599, throttled 0: sustained"
    assert rows["step 2 probe-1200"].endswith("NOT sustained: throttled 16.7% > 1.0%")
    assert rows["report"].startswith("results/r/report.html")
    assert rows["audit"] == "after the test stops"  # no start yet: nothing to audit


def test_web_ui_binds_loopback_starts_the_shape_itself_and_stays_open():
    argv = web_ui_args(8123)
    assert argv[argv.index("--web-host") + 1] == "127.0.0.1"
    assert argv[argv.index("--web-port") + 1] == "8123"
    assert "--autostart" in argv and "--headless" not in argv
    assert "--autoquit" not in argv  # the UI stays for the audit and another start


class FakeController:
    def __init__(self, started_at: float | None, done: bool):
        self.started_at, self.done, self.ended_early = started_at, done, 0

    def end_early(self) -> None:
        self.ended_early += 1
        self.done = True


def web_ui_with(controller: FakeController, tmp_path):
    from types import SimpleNamespace

    from flask import Flask

    from loadtests.ui_audit import UiAudits
    from tests.unit.loadtests.test_ui_audit import config

    app = Flask(__name__)

    @app.route("/stop", methods=["POST"])
    def stop():  # Locust's own Stop
        return {"success": True, "message": "Test stopped"}

    environment = SimpleNamespace(web_ui=SimpleNamespace(app=app, template_args={}))
    audits = UiAudits(config(tmp_path), flush_acked=lambda: None, settle_s=0)
    install(environment, controller, audits)
    return app.test_client()


def test_stop_ends_the_load_and_leaves_the_test_running_for_its_audit(tmp_path):
    controller = FakeController(started_at=1.0, done=False)
    client = web_ui_with(controller, tmp_path)
    answer = client.post("/stop").get_json()
    assert controller.ended_early == 1
    assert answer["success"] is True and "auditing" in answer["message"]
    # the load has ended: Stop again is Locust's own, which stops the test at once
    assert client.post("/stop").get_json()["message"] == "Test stopped"
    assert controller.ended_early == 1
    assert client.get("/redline/audit").get_json() == {"starts": [], "current": None}
