"""Distributed load generation (`make bench`): what 1, 2 and 4 Locust worker processes offer.

Each case is a real `python -m loadtests run --workers N` (a master and N separate worker
processes over its port on 127.0.0.1) against a private local stack whose stream has 16
shards (16,000 records/s: above the target), asking for 10,000
records/s of 256 B records in batches of 100 for 20 s. Figures are what the run's timeline
counted (records offered per second of the steady phase), never the target. Then the cost
model's prediction for a 10-minute Fargate run with 20 workers (a prediction, not a bill).

The generator shares this machine with the stack it loads: say how busy the machine was.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from loadtests import generator_cost as gc
from pipeline.config import load_environment, to_tfvars
from pipeline.loadgen_config import LoadgenConfig
from pipeline.local.stack import REPO_ROOT
from reports import runfolder as rf
from reports.prices import load_prices

TARGET_RATE = 10_000
DURATION_S = 20
SHARDS = 16
WORKER_COUNTS = (1, 2, 4)


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def bench_environment(directory: Path) -> Path:
    data = to_tfvars(load_environment("local"))
    data["stream"]["shard_count"] = SHARDS
    path = directory / "bench-distributed.tfvars.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def one_case(env_file: Path, workers: int, results: Path) -> dict[str, float]:
    argv = [
        sys.executable,
        "-m",
        "loadtests",
        "run",
        "--env",
        str(env_file),
        "--scenario",
        "soak",
        "--mix",
        "ingest",
        "--rate",
        str(TARGET_RATE),
        "--batch-size",
        "100",
        "--record-bytes",
        "256",
        "--duration",
        str(DURATION_S),
        "--drain-timeout",
        "5",
        "--workers",
        str(workers),
        "--results",
        str(results),
    ]
    process = subprocess.Popen(
        argv,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=600)
    except (KeyboardInterrupt, subprocess.TimeoutExpired):
        # Ctrl-C as the run understands it: it stops the stack and Locust it started.
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=180)
        raise
    run_dir = (results / rf.LATEST_LINK).resolve()
    timeline = run_dir / rf.TIMELINE_CSV
    if not timeline.exists():
        tail = output.strip().splitlines()[-5:]
        raise SystemExit(f"the run with {workers} worker(s) left no timeline: {tail}")
    with timeline.open(encoding="utf-8") as handle:
        rows = [
            r
            for r in csv.DictReader(handle)
            if r["phase"] == "steady" and r["request_type"] == rf.PUT_RECORDS
        ]

    # Per second of the steady phase, whether or not a second saw a completed call: slots no
    # user could take before the phase ended were never offered and count as nothing.
    def per_second(column: str) -> float:
        return sum(int(r[column]) for r in rows) / DURATION_S

    return {
        "offered": per_second("offered"),
        "accepted": per_second("accepted"),
        "throttled": per_second("throttled"),
    }


def main() -> None:
    print(f"machine: {os.cpu_count()} cores, shared; load average before: {load_average()}")
    print(
        f"target {TARGET_RATE} records/s of 256 B in batches of 100 for {DURATION_S} s,"
        f" stream of {SHARDS} shards; figures: records offered per steady second (timeline)"
    )
    print(
        f"{'workers':>7} {'offered/s':>10} {'per worker':>10} {'of target':>9}"
        f" {'accepted/s':>10} {'throttled/s':>11}  load average after"
    )
    with tempfile.TemporaryDirectory() as tmp:
        env_file = bench_environment(Path(tmp))
        for workers in WORKER_COUNTS:
            figures = one_case(env_file, workers, Path(tmp) / f"results-{workers}")
            print(
                f"{workers:>7} {figures['offered']:>10.0f} {figures['offered'] / workers:>10.0f}"
                f" {figures['offered'] / TARGET_RATE:>9.1%} {figures['accepted']:>10.0f}"
                f" {figures['throttled']:>11.0f}  {load_average()}",
                flush=True,
            )
    prices = load_prices()
    loadgen = LoadgenConfig()
    prediction = gc.predict(loadgen, workers=20, duration_s=600, prices=prices)
    print(
        f"\ncost model (a prediction from reports/prices.json, {prices.region}, checked"
        f" {prices.checked}): 20 workers of {loadgen.worker_cpu / 1024:g} vCPU /"
        f" {loadgen.worker_memory_mb / 1024:g} GB {loadgen.cpu_architecture} + 1 master,"
        f" 10-minute scenario: {prediction.usd:.4f} {prices.currency}"
        f" ({prediction.usd_per_minute:.4f} {prices.currency}/minute while all run)"
    )


if __name__ == "__main__":
    main()
