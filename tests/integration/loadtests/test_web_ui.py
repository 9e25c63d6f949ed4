"""`make loadtest UI=1`: Locust's own web UI with the Redline tab, driven in headless Chromium
(Debian's, through Playwright, as the report's browser test): the tab shows live figures read
from the running test; Stop in the UI ends the run and the tab shows its loss audit; quitting
(Ctrl+C) ends the run cleanly (stack stopped, folder kept)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

from reports import runfolder as rf
from tests.integration.loadtests.test_loadtest_run import assert_stack_stopped, start_run
from tests.integration.reports.test_report_in_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.integration
URL_LINE = re.compile(r"==> Locust web UI: (http://127\.0\.0\.1:\d+)")


def _read_until_url(process, deadline: float) -> tuple[str, list[str]]:
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        found = URL_LINE.search(line)
        if found:
            _assert_listening(found.group(1))
            return found.group(1), lines
    raise AssertionError("no web UI address printed:\n" + "".join(lines))


def quit_web_ui(process: subprocess.Popen) -> None:
    """A failed test still quits as a user would (Ctrl+C): the web UI does not quit by itself,
    and only `make loadtest` stops the stack and Locust it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()


def _assert_listening(url: str) -> None:
    """The address is printed once Locust's web server listens: a user's click works."""
    address = urllib.parse.urlsplit(url)
    socket.create_connection((address.hostname, address.port), timeout=5).close()


def _figure(page, name: str) -> str:
    row = page.locator("tr", has=page.locator("td", has_text=re.compile(f"^{re.escape(name)}$")))
    return row.locator("td").nth(1).inner_text()


def _audit_in_tab(page, deadline: float) -> dict[str, str]:
    """The audit's rows once the tab shows its figures (after "draining: n of m stored")."""
    seen = set()
    while time.monotonic() < deadline:
        if page.get_by_text("audit (start 1)", exact=True).count():
            seen.add(_figure(page, "audit (start 1)").split(":")[0])
            if page.get_by_text("produced (acknowledged)", exact=True).count():
                names = ("audit (start 1)", "produced (acknowledged)", "stored", "lost")
                return {n: _figure(page, n) for n in (*names, "dead-lettered", "run folder")}
        time.sleep(0.5)
    raise AssertionError(f"the Redline tab never showed the audit's figures (saw {seen})")


@pytest.mark.timeout(900)  # a stack, the UI, audits and the report on a busy 2-core machine
def test_web_ui_shows_the_redline_tab_live_stop_shows_the_audit_and_quit_ends_the_run(tmp_path):
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run `make browser`"
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    process = start_run(tmp_path, "--scenario", "smoke", "--duration", "60", "--ui")
    try:
        url, lines = _read_until_url(process, time.monotonic() + 240)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=120_000
            )
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url, timeout=60_000)
            page.get_by_role("tab", name="Redline").click(timeout=60_000)
            offered = "0"
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if page.get_by_text("offered records/s", exact=True).count():
                    offered = _figure(page, "offered records/s")
                    if offered not in ("0", "n/a"):
                        break
                time.sleep(1)
            assert float(offered.replace(",", "")) > 0, "no live offered rate in the Redline tab"
            phase = _figure(page, "phase")
            assert re.match(r"(warmup|steady) \(\d+ s\)", phase), phase
            assert rf.REPORT_HTML in _figure(page, "report")
            page.get_by_role("button", name=re.compile("^stop$", re.I)).click(timeout=30_000)
            audit = _audit_in_tab(page, time.monotonic() + 240)
            browser.close()
        run_dir = (tmp_path / rf.LATEST_LINK).resolve()
        written = json.loads((run_dir / rf.AUDIT_JSON).read_text())
        assert audit["produced (acknowledged)"] == f"{written['produced']:,}"
        assert audit["stored"] == f"{written['stored']:,}"
        assert audit["lost"] == f"{written['lost']:,}" == "0"
        assert audit["run folder"] == str(run_dir)
        os.killpg(process.pid, signal.SIGINT)  # quit: Ctrl+C where `make loadtest` runs
        output, _ = process.communicate(timeout=420)
    finally:
        quit_web_ui(process)
    output = "".join(lines) + output
    assert process.returncode == 130, output  # a run stopped by hand, as after Ctrl-C
    summary = json.loads((run_dir / rf.SUMMARY_JSON).read_text())
    assert summary["interrupted"] is True and summary["passed"] is False
    assert (run_dir / rf.TIMELINE_CSV).is_file() and (run_dir / rf.AUDIT_JSON).is_file()
    assert_stack_stopped(json.loads((run_dir / rf.RUN_JSON).read_text()))
