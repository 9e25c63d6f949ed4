"""Synthetic run folders, written to the contract in reports/runfolder.py.

A small pipeline simulator: Kinesis accepts up to its shard limits (records and bytes) and
throttles the rest; the consumer drains the stream into a table with a token bucket (burst
as AWS keeps it) and falls behind when the table is short of WCU. It writes what a real run
writes: run.json, timeline.csv, steps.csv (capacity searches), cloudwatch.csv, audit.json,
summary.json. Used by the unit tests, the integration test and bench/bench_report.py.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import aws_limits as limits
from pipeline import capacity
from pipeline import metrics as m
from pipeline.config import load_environment
from reports import runfolder as rf

START = 1_790_000_000  # a fixed epoch second: every folder is reproducible
PARTITION_KEY_BYTES = 36


@dataclass
class Pipeline:
    shards: int = 1
    record_bytes: int = 1000  # on the stream, partition key included
    table_wcu: int = 1500
    table_rcu: int = 500
    burst_s: float = 0.0  # seconds of unused capacity the table starts with
    batch_size: int = 500
    consumer_max_rps: float = 5000.0  # what the Lambda could write with unlimited capacity
    read_rate: float = 0.0  # API requests/s (get_event)
    api_rate_limit: float = 500.0
    item_overhead: int = 120

    @property
    def item_units(self) -> int:
        return capacity.write_units(self.record_bytes - PARTITION_KEY_BYTES + self.item_overhead)

    @property
    def shard_cap(self) -> float:
        return self.shards * min(
            limits.KINESIS_SHARD_WRITE_RECORDS_PER_S,
            limits.KINESIS_SHARD_WRITE_BYTES_PER_S / self.record_bytes,
        )


def environment(p: Pipeline, mode: str = "PROVISIONED") -> dict[str, Any]:
    env = load_environment("local").model_dump(mode="json")
    env["stream"]["shard_count"] = p.shards
    env["stream"]["mode"] = mode
    env["table"]["write_capacity"] = p.table_wcu
    env["table"]["type_index"]["write_capacity"] = p.table_wcu
    env["table"]["read_capacity"] = p.table_rcu
    env["api"]["throttling_rate_limit"] = p.api_rate_limit
    return env


def _cw(rows: list, t: int, namespace: str, metric: str, dims: str, stat: str, value: float):
    rows.append(
        {
            "timestamp": t,
            "period_s": 1,
            "namespace": namespace,
            "metric": metric,
            "dimensions": dims,
            "stat": stat,
            "value": round(value, 3),
        }
    )


def simulate(
    p: Pipeline, plan: Iterable[tuple[str, float, int]]
) -> tuple[list[dict], list[dict], dict]:
    """(phase, records/s, seconds) -> timeline rows, cloudwatch rows, totals."""
    stream, table, fn = (
        "StreamName=redline-events-local",
        "TableName=redline-events-local",
        "FunctionName=redline-ingest-local",
    )
    timeline: list[dict] = []
    cloudwatch: list[dict] = []
    backlog, tokens = 0.0, p.burst_s * p.table_wcu
    bucket_size = limits.DYNAMODB_BURST_SECONDS * p.table_wcu
    totals = {"produced": 0, "stored": 0}
    t = START
    for phase, rate, seconds in plan:
        for _ in range(seconds):
            offered = round(rate)
            accepted = min(offered, math.floor(p.shard_cap))
            throttled = offered - accepted
            util = offered / p.shard_cap
            p50 = 18 + 12 * min(util, 1.0)
            p95, p99 = p50 * 1.9, p50 * 3.2
            if throttled:
                p50, p95, p99 = p50 * 2, 420 + 900 * (util - 1) * 10, 900 + 2500 * (util - 1) * 10
            timeline.append(
                {
                    "timestamp": t,
                    "elapsed_s": t - START,
                    "phase": phase,
                    "request_type": rf.PUT_RECORDS,
                    "target_rate": rate,
                    "offered": offered,
                    "accepted": accepted,
                    "throttled": throttled,
                    "errors": 0,
                    "retries": throttled,
                    "offered_bytes": offered * p.record_bytes,
                    "accepted_bytes": accepted * p.record_bytes,
                    "latency_p50_ms": round(p50),
                    "latency_p95_ms": round(p95),
                    "latency_p99_ms": round(p99),
                    "latency_max_ms": round(p99 * 1.3),
                }
            )
            if p.read_rate:
                reads = round(p.read_rate)
                limited = max(0, reads - round(p.api_rate_limit))
                timeline.append(
                    {
                        "timestamp": t,
                        "elapsed_s": t - START,
                        "phase": phase,
                        "request_type": rf.API_GET_EVENT,
                        "target_rate": p.read_rate,
                        "offered": reads,
                        "accepted": reads - limited,
                        "throttled": limited,
                        "errors": 0,
                        "retries": 0,
                        "offered_bytes": 0,
                        "accepted_bytes": 0,
                        "latency_p50_ms": 12,
                        "latency_p95_ms": 25,
                        "latency_p99_ms": 40,
                        "latency_max_ms": 60,
                    }
                )
            totals["produced"] += accepted
            backlog += accepted
            tokens = min(tokens + p.table_wcu, bucket_size + p.table_wcu)
            wanted = min(backlog, p.consumer_max_rps)
            written = min(wanted, tokens // p.item_units)
            tokens -= written * p.item_units
            backlog -= written
            totals["stored"] += int(written)
            write_throttles = math.ceil((wanted - written) / 25) if wanted > written else 0
            age_ms = backlog / max(written, 1.0) * 1000 + 200
            invocations = max(1, math.ceil(written / p.batch_size)) if written else 0
            _cw(cloudwatch, t, "AWS/Kinesis", "IncomingRecords", stream, "Sum", accepted)
            _cw(
                cloudwatch,
                t,
                "AWS/Kinesis",
                "IncomingBytes",
                stream,
                "Sum",
                accepted * p.record_bytes,
            )
            _cw(
                cloudwatch,
                t,
                "AWS/Kinesis",
                "WriteProvisionedThroughputExceeded",
                stream,
                "Sum",
                throttled,
            )
            _cw(
                cloudwatch,
                t,
                "AWS/Kinesis",
                "GetRecords.IteratorAgeMilliseconds",
                stream,
                "Maximum",
                age_ms,
            )
            _cw(
                cloudwatch,
                t,
                "AWS/DynamoDB",
                "ConsumedWriteCapacityUnits",
                table,
                "Sum",
                written * p.item_units,
            )
            _cw(cloudwatch, t, "AWS/DynamoDB", "WriteThrottleEvents", table, "Sum", write_throttles)
            if p.read_rate:
                _cw(
                    cloudwatch,
                    t,
                    "AWS/DynamoDB",
                    "ConsumedReadCapacityUnits",
                    table,
                    "Sum",
                    p.read_rate * 0.5,
                )
            _cw(cloudwatch, t, "AWS/Lambda", "Invocations", fn, "Sum", invocations)
            _cw(
                cloudwatch,
                t,
                "AWS/Lambda",
                "Duration",
                fn,
                "Average",
                40 + 0.4 * written / max(invocations, 1),
            )
            _cw(
                cloudwatch,
                t,
                "AWS/Lambda",
                "ConcurrentExecutions",
                fn,
                "Maximum",
                1 if written else 0,
            )
            _cw(cloudwatch, t, "AWS/Lambda", "IteratorAge", fn, "Maximum", age_ms)
            _cw(cloudwatch, t, "AWS/Lambda", "Throttles", fn, "Sum", 0)
            _cw(
                cloudwatch,
                t,
                "Redline",
                "RecordsStored",
                "service=ingest;environment=local",
                "Sum",
                written,
            )
            t += 1
    return timeline, cloudwatch, totals


def _write_csv(path: Path, columns: tuple[str, ...], rows: Iterable[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c, "") for c in columns])


def _steps(timeline: list[dict], plan: list[tuple[str, float, int]], settle: int = 2) -> list[dict]:
    steps, t = [], START
    for index, (phase, rate, seconds) in enumerate(plan, start=1):
        rows = [
            r
            for r in timeline
            if r["request_type"] == rf.PUT_RECORDS and t + settle <= r["timestamp"] < t + seconds
        ]
        n = len(rows)
        offered = sum(r["offered"] for r in rows) / n
        accepted = sum(r["accepted"] for r in rows) / n
        throttled = sum(r["throttled"] for r in rows) / n
        sustained = throttled <= offered * 0.005 and accepted >= offered * 0.98
        steps.append(
            {
                "step": index,
                "phase": phase,
                "started_at": t,
                "duration_s": seconds,
                "target_rate": rate,
                "offered_rate": offered,
                "accepted_rate": accepted,
                "throttled_rate": throttled,
                "error_rate": 0.0,
                "latency_p50_ms": sorted(r["latency_p50_ms"] for r in rows)[n // 2],
                "latency_p95_ms": sorted(r["latency_p95_ms"] for r in rows)[n // 2],
                "latency_p99_ms": sorted(r["latency_p99_ms"] for r in rows)[n // 2],
                "iterator_age_max_ms": 400.0,
                "sustained": "true" if sustained else "false",
                "reasons": "" if sustained else f"throttled {throttled:.0f} records/s",
                "e2e_p95_ms": 900.0,
                "generator_limited": "false",
            }
        )
        t += seconds
    return steps


def write_run(
    path: Path,
    p: Pipeline,
    plan: list[tuple[str, float, int]],
    scenario: str = "capacity",
    capacity_search: bool = True,
    target: str = "local",
    options: dict[str, Any] | None = None,
    gates_passed: bool = True,
) -> Path:
    """A complete run folder at `path` (created)."""
    path.mkdir(parents=True, exist_ok=True)
    timeline, cloudwatch, totals = simulate(p, plan)
    duration = sum(seconds for _, _, seconds in plan)
    run = {
        "run_id": path.name,
        "scenario": scenario,
        "target": target,
        "environment_name": "local",
        "environment": environment(p),
        "options": {
            "record_bytes": p.record_bytes - PARTITION_KEY_BYTES,
            "batch_size": 100,
            "key_strategy": "uniform",
            "hot_key_share": 0.5,
            "zipf_s": 1.1,
            "key_count": 1000,
            "mix": "mixed" if p.read_rate else "ingest",
            **(options or {}),
        },
        "started_at": "2026-09-21T12:53:20+00:00",
        "ended_at": "2026-09-21T12:55:20+00:00",
        "duration_s": float(duration),
        "versions": {"redline": "0.1.0", "python": "3.11.2", "locust": "2.47.0"},
        "limits_emulated": target == "local",
        "endpoints": {
            "stream_name": "redline-events-local",
            "table_name": "redline-events-local",
            "ingest_function": "redline-ingest-local",
            "api_function": "redline-api-local",
        },
    }
    (path / rf.RUN_JSON).write_text(json.dumps(run, indent=2), encoding="utf-8")
    _write_csv(path / rf.TIMELINE_CSV, rf.TIMELINE_COLUMNS, timeline)
    _write_csv(path / rf.CLOUDWATCH_CSV, rf.CLOUDWATCH_COLUMNS, cloudwatch)
    steps = _steps(timeline, plan) if capacity_search else []
    if capacity_search:
        _write_csv(path / rf.STEPS_CSV, rf.STEPS_COLUMNS, steps)
    lost = 0
    audit = {
        "produced": totals["produced"],
        "stored": totals["produced"],
        "dead_lettered": 0,
        "lost": lost,
        "unexpected": 0,
    }
    (path / rf.AUDIT_JSON).write_text(json.dumps(audit), encoding="utf-8")
    knee = max((float(s["target_rate"]) for s in steps if s["sustained"] == "true"), default=None)
    summary = {
        "knee_rps": knee,
        "bottleneck": None,
        "gates": [
            {
                "name": "lost",
                "limit": 0,
                "actual": lost,
                "passed": True,
                "message": "lost: 0 events <= 0 events",
            },
            {
                "name": "error_rate",
                "limit": 0.01,
                "actual": 0.0 if gates_passed else 0.05,
                "passed": gates_passed,
                "message": "error_rate: 0.00% <= 1.00%"
                if gates_passed
                else "error_rate failed: 5.00% > limit 1.00% (over by 4.00%)",
            },
        ],
        "passed": gates_passed,
        "lost": lost,
        "generator_limited": False,
    }
    (path / rf.SUMMARY_JSON).write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return path


# The capacity search of the issue: 1 shard, 1 KB records, knee ~1,000 records/s.
CAPACITY_PLAN = [
    ("probe-1", 600.0, 7),
    ("probe-2", 750.0, 7),
    ("probe-3", 937.5, 7),
    ("probe-4", 1171.9, 7),
    ("probe-5", 1054.7, 7),
    ("probe-6", 996.1, 7),
    ("probe-7", 1025.4, 7),
    ("probe-8", 1010.7, 7),
]


def capacity_run(path: Path, **kwargs: Any) -> Path:
    """1 shard, 1,000 B records: Kinesis shard writes throttle first, knee ~996 records/s."""
    return write_run(
        path, Pipeline(shards=1, record_bytes=1000, table_wcu=4000), CAPACITY_PLAN, **kwargs
    )


def table_bound_run(path: Path, **kwargs: Any) -> Path:
    """200 WCU, 1 KB items (2 WCU each): the table throttles at ~100 records/s, not the stream."""
    plan = [(f"step-{i}", rate, 20) for i, rate in enumerate((50.0, 80.0, 130.0, 200.0), start=1)]
    return write_run(
        path,
        Pipeline(shards=1, record_bytes=1000, table_wcu=200),
        plan,
        scenario="step",
        capacity_search=False,
        **kwargs,
    )


def no_traffic_run(path: Path) -> Path:
    """A run whose generator never sent anything: every second offered 0."""
    write_run(path, Pipeline(), [("warmup", 0.0, 10)], scenario="smoke", capacity_search=False)
    return path


def long_run(path: Path, seconds: int = 3600) -> Path:
    """A one-hour step run at one-second resolution, reads included (for bench_report), with
    a row a second for every metric and statistic in pipeline.metrics, as a local run has."""
    steps = 12
    plan = [(f"step-{i}", 100.0 * i, seconds // steps) for i in range(1, steps + 1)]
    write_run(
        path,
        Pipeline(shards=1, record_bytes=1000, read_rate=50.0),
        plan,
        scenario="soak",
        capacity_search=False,
    )
    cloudwatch = path / rf.CLOUDWATCH_CSV
    with cloudwatch.open(newline="", encoding="utf-8") as handle:
        present = {(r["namespace"], r["metric"], r["stat"]) for r in csv.DictReader(handle)}
    extra = [
        (metric, stat)
        for metric in m.ALL
        for stat in metric.statistics
        if (metric.namespace, metric.name, stat) not in present
    ]
    with cloudwatch.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for t in range(START, START + seconds):
            for metric, stat in extra:
                dims = ";".join(f"{d}=x" for d in metric.dimensions)
                writer.writerow([t, 1, metric.namespace, metric.name, dims, stat, 1.0])
    return path


def truncate(path: Path, keep_bytes_fraction: float = 0.5) -> Path:
    """Cut a file in the middle of a line, as a crashed writer leaves it."""
    data = path.read_bytes()
    cut = int(len(data) * keep_bytes_fraction)
    while data[cut - 1 : cut] in (b"\n", b","):
        cut -= 1
    path.write_bytes(data[:cut])
    return path
