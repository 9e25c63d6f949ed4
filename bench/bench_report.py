"""Report build time for a one-hour run at one-second resolution (budget: 5 s).

Builds a synthetic run folder (tests/unit/reports/runs.py: 3,600 s, ingest and reads, the
CloudWatch metrics of every second), then times `reports.builder.build` on it: reading and
validating, analysis, sizing, the four charts (PNG and SVG) and the templates. Prints the
time and its ratio to the budget; the figure is only as quiet as the machine.

Before and after the pandas loader, in one run: "before" builds with the per-second
aggregation the analysis had before it read load_run's timeline frame (numpy over the
reader's arrays, kept below as the reference), "after" with the code as it is; builds
alternate so that a change in the machine's load hits both. It also times `load_run` (the
reader plus every DataFrame) beside the bare reader.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from reports import analysis, load_run, reader
from reports.builder import build
from tests.unit.reports import runs

BUDGET_S = 5.0
REPEATS = 3


def _per_second_before(run, types, start):
    """The analysis' per-second aggregation before load_run (numpy over the reader's arrays)."""
    t = run.timeline
    pick = t.mask("request_type", types)
    if not pick.any():
        return None
    stamps = t.numbers["timestamp"][pick].astype(np.int64)
    first = int(stamps.min())
    seconds = np.arange(first, int(stamps.max()) + 1)
    inverse = stamps - first

    def total(column):
        out = np.zeros(seconds.size)
        np.add.at(out, inverse, np.nan_to_num(t.numbers[column][pick]))
        return out

    def worst(column):
        out = np.full(seconds.size, -np.inf)
        values = t.numbers[column][pick]
        np.maximum.at(out, inverse, np.where(np.isfinite(values), values, -np.inf))
        out[~np.isfinite(out)] = np.nan
        return out

    return analysis.PerSecond(
        elapsed=seconds - start,
        target=total("target_rate"),
        offered=total("offered"),
        accepted=total("accepted"),
        throttled=total("throttled"),
        errors=total("errors"),
        offered_bytes=total("offered_bytes"),
        p50=worst("latency_p50_ms"),
        p95=worst("latency_p95_ms"),
        p99=worst("latency_p99_ms"),
    )


@contextmanager
def _before():
    after = analysis._per_second
    analysis._per_second = _per_second_before
    try:
        yield
    finally:
        analysis._per_second = after


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        run_dir = runs.long_run(Path(tmp) / "one-hour", seconds=3600)
        rows = sum(1 for _ in (run_dir / "cloudwatch.csv").open()) - 1
        timeline = sum(1 for _ in (run_dir / "timeline.csv").open()) - 1
        load_at_start = os.getloadavg()[0]
        read_s = _timed(lambda: reader.read_run(run_dir))
        load_run_s = _timed(lambda: load_run(run_dir))
        before, after = [], []
        for _ in range(REPEATS):
            with _before():
                before.append(_timed(lambda: build(run_dir)))
            after.append(_timed(lambda: build(run_dir)))
        load = os.getloadavg()[0]
        print(
            f"one-hour run: {timeline:,} timeline rows, {rows:,} CloudWatch rows"
            f" (load average {load_at_start:.2f} at start, {load:.2f} at end,"
            f" {os.cpu_count()} cores)"
        )
        print(f"  read + validate : {read_s:6.2f} s")
        print(f"  load_run        : {load_run_s:6.2f} s (the reader plus every DataFrame)")
        for label, times in (("before pandas", before), ("after (pandas)", after)):
            best, worst = min(times), max(times)
            print(
                f"  build, {label:<14}: {best:6.2f} s best, {worst:.2f} s worst of {REPEATS}"
                f" = {best / BUDGET_S:.0%} of the {BUDGET_S:.0f} s budget"
            )
        print(f"  after / before (best of each): {min(after) / min(before):.2f}")


if __name__ == "__main__":
    main()
