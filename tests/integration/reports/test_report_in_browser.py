"""report.html opens offline in headless Chromium without console errors and shows its charts.

Drives Debian's chromium (/usr/bin/chromium, `make browser` installs it) through Playwright;
Playwright never downloads a browser here. The page is opened from a file:// URL with every
network request refused, so anything the page tried to fetch would fail the test.
"""

import os
import shutil
from pathlib import Path

import pytest

from reports import runfolder as rf
from reports.cli import main
from tests.unit.reports import runs

CHROMIUM = os.environ.get("REDLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
CHARTS = ("throughput", "latency", "utilization", "iterator-age")

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (installs Debian's chromium)")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=120_000
        )
        yield browser
        browser.close()


def _open(browser, html: Path):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    def refuse(route):
        if not route.request.url.startswith("file://"):
            requests.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", refuse)
    page.goto(html.as_uri(), wait_until="load", timeout=60_000)
    return page, problems, requests


@pytest.mark.parametrize("kind", ["capacity", "table"])
def test_report_opens_without_errors_and_renders_its_charts(browser, tmp_path, kind):
    make = runs.capacity_run if kind == "capacity" else runs.table_bound_run
    run = make(tmp_path / f"run-{kind}")
    assert main(["build", str(run)]) == 0
    page, problems, requests = _open(browser, run / rf.REPORT_HTML)
    try:
        assert problems == []
        assert requests == []  # self-contained: nothing fetched
        assert page.title().startswith("Capacity report")
        assert page.locator("#verdict .headline").inner_text().startswith("Carries")
        for chart in CHARTS:
            figure = page.locator(f"#chart-{chart} svg.chart")
            box = figure.bounding_box()
            assert box is not None and box["width"] > 600 and box["height"] > 150, chart
            assert figure.locator("path").count() > 10, chart  # axes, ticks and the lines
        # the 5x row and its cost line are on the page
        costs = page.locator("#costs tbody tr").all_inner_texts()
        assert any(row.startswith("5x") and row.count("$") == 6 for row in costs)
        shot = page.screenshot(full_page=True)
        (run / "screenshot.png").write_bytes(shot)
        assert len(shot) > 100_000  # a rendered page, not a blank one
    finally:
        page.close()


def test_report_opens_when_moved_elsewhere(browser, tmp_path):
    run = runs.capacity_run(tmp_path / "run")
    assert main(["build", str(run)]) == 0
    alone = tmp_path / "elsewhere" / "report.html"
    alone.parent.mkdir()
    shutil.copy(run / rf.REPORT_HTML, alone)  # without charts/ beside it
    page, problems, requests = _open(browser, alone)
    try:
        assert problems == [] and requests == []
        assert page.locator("svg.chart").count() == 4
    finally:
        page.close()
