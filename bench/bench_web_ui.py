"""The knee with Locust's web UI against the headless knee, on the same local stack setup.

Issue #15: `make loadtest UI=1` must find the run's knee within 2% of the headless run's.
Runs the 1-shard capacity search (bench_loadtests' "1shard" environment) twice, headless and
with `--ui` (the shape autostarts; the bench waits for the web UI's audit of the start, then
quits as a user would, with Ctrl+C), and prints both knees from each run's summary.json,
their difference, each run's audit and the load average. Each run starts its own stack, so
the two runs are on the same setup, one after the other, not at the same time.

`python -m bench.bench_web_ui` (not part of `make bench`: two capacity searches take minutes).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_loadtests import CASES, environment_file
from pipeline.local import loopback
from pipeline.local.stack import REPO_ROOT
from reports import runfolder as rf

CASE = "1shard"
RUN_TIMEOUT_S = 900
URL_LINE = re.compile(r"==> Locust web UI: (http://127\.0\.0\.1:\d+)")


def argv(env: Path, results: Path, *extra: str) -> list[str]:
    shards_extra = CASES[CASE][2]
    return [
        *(sys.executable, "-m", "loadtests", "run", "--scenario", "capacity"),
        *("--env", str(env), "--results", str(results), *shards_extra, *extra),
    ]


def headless(env: Path, results: Path) -> tuple[int, str]:
    done = subprocess.run(
        argv(env, results), cwd=REPO_ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    return done.returncode, done.stdout + done.stderr


def with_web_ui(env: Path, results: Path) -> tuple[int, str]:
    process = subprocess.Popen(
        argv(env, results, "--ui"),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        url = None
        while url is None:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError("the run ended before printing the web UI's address")
            found = URL_LINE.search(line)
            url = found.group(1) if found else None
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                current = json.loads(loopback.request(f"{url}/redline/audit")[1])["current"]
            except OSError:  # a busy machine: ask again
                time.sleep(1)
                continue
            if current and current["state"] in ("done", "failed", "not audited"):
                break
            time.sleep(2)
        os.killpg(process.pid, signal.SIGINT)  # quit, as a user would
        output, _ = process.communicate(timeout=300)
    finally:
        quit_web_ui(process)
    return process.returncode, output


def quit_web_ui(process: subprocess.Popen) -> None:
    """Ctrl+C, as a user quits: `make loadtest` then stops the stack and Locust it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()


def summary_of(results: Path) -> tuple[dict, dict] | None:
    run_dir = (results / rf.LATEST_LINK).resolve()
    if not (run_dir / rf.SUMMARY_JSON).exists():
        return None
    summary = json.loads((run_dir / rf.SUMMARY_JSON).read_text())
    audit_path = run_dir / rf.AUDIT_JSON
    return summary, json.loads(audit_path.read_text()) if audit_path.exists() else {}


def main() -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (shared)")
    knees: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        shards, wcu = CASES[CASE][0], CASES[CASE][1]
        env = environment_file(Path(tmp), CASE, shards, wcu)
        for mode, run in (("headless", headless), ("web UI", with_web_ui)):
            results = Path(tmp) / mode.replace(" ", "-")
            started = time.monotonic()
            code, output = run(env, results)
            found = summary_of(results)
            if found is None:
                print(f"{mode}: no summary (exit {code}): {output[-1500:]}")
                return
            summary, audit = found
            knees[mode] = summary.get("knee_rps") or 0.0
            print(
                f"{mode:8} knee {knees[mode]:7.0f} records/s accepted (target-rate knee"
                f" {summary.get('knee_target_rps') or 0:.0f}), lost {audit.get('lost')} of"
                f" {audit.get('produced')}, exit {code}, {time.monotonic() - started:.0f} s wall,"
                f" load average {os.getloadavg()[0]:.2f}"
            )
    if knees["headless"]:
        gap = (knees["web UI"] - knees["headless"]) / knees["headless"]
        verdict = "ok" if abs(gap) <= 0.02 else "MISS"
        print(f"web UI knee vs headless: {gap:+.1%} ({verdict}: the issue asks within 2%)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
