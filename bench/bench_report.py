"""Report build time for a one-hour run at one-second resolution (budget: 5 s).

Builds a synthetic run folder (tests/unit/reports/runs.py: 3,600 s, ingest and reads, the
CloudWatch metrics of every second), then times `reports.builder.build` on it: reading and
validating, analysis, sizing, the four charts (PNG and SVG) and the templates. Prints the
time and its ratio to the budget; the figure is only as quiet as the machine.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from reports import reader
from reports.builder import build
from tests.unit.reports import runs

BUDGET_S = 5.0
REPEATS = 3


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        run_dir = runs.long_run(Path(tmp) / "one-hour", seconds=3600)
        rows = sum(1 for _ in (run_dir / "cloudwatch.csv").open()) - 1
        timeline = sum(1 for _ in (run_dir / "timeline.csv").open()) - 1
        started = time.perf_counter()
        reader.read_run(run_dir)
        read_s = time.perf_counter() - started
        times = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            build(run_dir)
            times.append(time.perf_counter() - started)
        best, worst = min(times), max(times)
        load = os.getloadavg()[0]
        print(
            f"one-hour run: {timeline:,} timeline rows, {rows:,} CloudWatch rows"
            f" (load average {load:.2f} on {os.cpu_count()} cores)"
        )
        print(f"  read + validate : {read_s:6.2f} s")
        print(
            f"  full build      : {best:6.2f} s best, {worst:.2f} s worst of {REPEATS}"
            f" = {best / BUDGET_S:.0%} of the {BUDGET_S:.0f} s budget"
        )


if __name__ == "__main__":
    main()
