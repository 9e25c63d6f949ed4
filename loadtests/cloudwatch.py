"""The CloudWatch metrics of a run window, and the first resource that throttled.

The local stack answers GetMetricData with 1-second periods; AWS keeps 1-minute periods for
its own metrics. Names and dimensions come from pipeline.metrics (never spelled here).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from loadtests.runconfig import Endpoints
from pipeline import metrics as m
from pipeline.cloudwatch_pages import metric_data_pages

MAX_QUERIES_PER_CALL = 500


def client(endpoints: Endpoints) -> Any:
    return boto3.client(
        "cloudwatch",
        region_name=endpoints.region,
        endpoint_url=endpoints.aws_endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": 3}, read_timeout=20),
    )


def _dimension_values(endpoints: Endpoints) -> dict[str, list[str]]:
    return {
        "StreamName": [endpoints.stream_name],
        "TableName": [endpoints.table_name],
        "FunctionName": [f for f in (endpoints.ingest_function, endpoints.api_function) if f],
        "ApiId": [endpoints.api_id] if endpoints.api_id else [],
        "QueueName": [endpoints.dead_letter_queue_name] if endpoints.dead_letter_queue_name else [],
    }


@dataclass(frozen=True)
class Query:
    metric: m.Metric
    dimensions: tuple[tuple[str, str], ...]
    stat: str


def queries(endpoints: Endpoints, selection: Iterable[m.Metric] = m.ALL) -> list[Query]:
    values = _dimension_values(endpoints)
    result = []
    for metric in selection:
        if metric.namespace == m.NAMESPACE:
            service = next(iter(metric.tags), m.SERVICE_INGEST)
            dims = [
                (
                    (m.DIMENSION_SERVICE, service),
                    (m.DIMENSION_ENVIRONMENT, endpoints.environment),
                )
            ]
        else:
            (dimension,) = metric.dimensions
            dims = [((dimension, v),) for v in values[dimension]]
            if dimension == "FunctionName" and metric.name in ("IteratorAge",):
                dims = (
                    [((dimension, endpoints.ingest_function),)] if endpoints.ingest_function else []
                )
        for dim in dims:
            for stat in metric.statistics:
                result.append(Query(metric, dim, stat))
    return result


def fetch(
    endpoints: Endpoints,
    start: float,
    end: float,
    period: int,
    selection: Iterable[m.Metric] = m.ALL,
) -> list[dict[str, Any]]:
    """Rows of cloudwatch.csv (long format) for [start, end)."""
    cw = client(endpoints)
    wanted = queries(endpoints, selection)
    rows: list[dict[str, Any]] = []
    start_time = dt.datetime.fromtimestamp(int(start) - int(start) % period, tz=dt.UTC)
    end_time = dt.datetime.fromtimestamp(int(end) + period, tz=dt.UTC)
    for offset in range(0, len(wanted), MAX_QUERIES_PER_CALL):
        chunk = wanted[offset : offset + MAX_QUERIES_PER_CALL]
        request = [
            {
                "Id": f"q{offset + i}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": q.metric.namespace,
                        "MetricName": q.metric.name,
                        "Dimensions": [{"Name": n, "Value": v} for n, v in q.dimensions],
                    },
                    "Period": period,
                    "Stat": q.stat,
                },
                "ReturnData": True,
            }
            for i, q in enumerate(chunk)
        ]
        kwargs: dict[str, Any] = {
            "MetricDataQueries": request,
            "StartTime": start_time,
            "EndTime": end_time,
            "ScanBy": "TimestampAscending",
        }
        for response in metric_data_pages(cw, kwargs):
            for result in response.get("MetricDataResults", []):
                q = chunk[int(result["Id"][1:]) - offset]
                for stamp, value in zip(result["Timestamps"], result["Values"], strict=True):
                    rows.append(
                        {
                            "timestamp": int(stamp.timestamp()),
                            "period_s": period,
                            "namespace": q.metric.namespace,
                            "metric": q.metric.name,
                            "dimensions": ";".join(f"{n}={v}" for n, v in q.dimensions),
                            "stat": q.stat,
                            "value": value,
                        }
                    )
    rows.sort(key=lambda r: (r["timestamp"], r["namespace"], r["metric"], r["stat"]))
    return rows


# The throttle signals, in pipeline order (a tie goes to the resource nearest the producer).
THROTTLE_SIGNALS: tuple[tuple[str, str, str, str], ...] = (
    ("kinesis shard writes", "AWS/Kinesis", "WriteProvisionedThroughputExceeded", "Sum"),
    ("lambda concurrency", "AWS/Lambda", "Throttles", "Sum"),
    ("dynamodb table writes", "AWS/DynamoDB", "WriteThrottleEvents", "Sum"),
    ("dynamodb table reads", "AWS/DynamoDB", "ReadThrottleEvents", "Sum"),
)


TABLE_OVERSPEND = "AWS/DynamoDB write capacity needed per second"
OVERSPEND_TOLERANCE = 0.02


def downstream_throttles(
    endpoints: Endpoints, start: float, end: float, target_rate: float, predict: bool = True
) -> tuple[dict[str, float], float | None]:
    """What stops a probe past the stream, and the consumer's iterator age max.

    Throttles (DynamoDB WriteThrottleEvents, the ingest Lambda's Throttles) and a provisioned
    table spending more write capacity per second than it has: that rate only lasts while
    the burst credit (up to 300 s of capacity) does, so it is not sustained either. The need
    is the target rate times the write units each stored record cost in the window (consumed
    over stored, so the consumer's batching does not blur it). `predict=False` (a table-bound
    search that spent the burst credit first: loadtests.table_knee) judges by throttles only.
    """
    selection = [
        m.by_name("WriteThrottleEvents", "AWS/DynamoDB"),
        m.by_name("ThrottledRequests", "AWS/DynamoDB"),
        m.by_name("ConsumedWriteCapacityUnits", "AWS/DynamoDB"),
        m.by_name("ProvisionedWriteCapacityUnits", "AWS/DynamoDB"),
        m.by_name("Throttles", "AWS/Lambda"),
        m.by_name("IteratorAge", "AWS/Lambda"),
        m.RECORDS_STORED,
    ]
    rows = [
        r
        for r in fetch(endpoints, start, end, 1, selection)
        if int(start) <= r["timestamp"] < end
        and r["dimensions"] != f"FunctionName={endpoints.api_function}"
    ]
    return summarize_window(rows, target_rate, predict)


def summarize_window(
    rows: Iterable[dict[str, Any]], target_rate: float, predict: bool = True
) -> tuple[dict[str, float], float | None]:
    throttles: dict[str, float] = {}
    age: float | None = None
    consumed, stored, provisioned = 0.0, 0.0, []
    for row in rows:
        metric, stat, value = row["metric"], row["stat"], row["value"]
        if metric == "IteratorAge":
            if stat == "Maximum":
                age = max(age or 0.0, value)
        elif metric == "ConsumedWriteCapacityUnits" and stat == "Sum":
            consumed += value
        elif metric == "ProvisionedWriteCapacityUnits":
            provisioned.append(value)
        elif metric == m.RECORDS_STORED.name:
            stored += value
        elif stat == "Sum":
            key = f"{row['namespace']} {metric}"
            throttles[key] = throttles.get(key, 0.0) + value
    if predict and provisioned and max(provisioned) > 0 and stored > 0:
        limit = max(provisioned)
        needed = target_rate * consumed / stored
        if needed > limit * (1 + OVERSPEND_TOLERANCE):
            throttles[f"{TABLE_OVERSPEND} (provisioned {limit:g})"] = round(needed, 1)
    return throttles, age


def first_throttled(
    rows: Iterable[dict[str, Any]],
    producer_throttled: dict[int, int],
    api_throttled: dict[int, int],
) -> dict[str, Any] | None:
    """The resource that throttled first in the window, with the evidence."""
    candidates: list[tuple[float, int, dict[str, Any]]] = []
    for order, (resource, namespace, metric, stat) in enumerate(THROTTLE_SIGNALS):
        hits = [
            r
            for r in rows
            if r["namespace"] == namespace
            and r["metric"] == metric
            and r["stat"] == stat
            and r["value"] > 0
        ]
        if hits:
            first = min(hits, key=lambda r: r["timestamp"])
            total = sum(r["value"] for r in hits)
            candidates.append(
                (
                    first["timestamp"],
                    order,
                    {
                        "resource": resource,
                        "metric": f"{namespace} {metric}",
                        "first_at": first["timestamp"],
                        "value": total,
                        "evidence": f"{metric} {total:g} in the run window, first at"
                        f" {_iso(first['timestamp'])} ({first['dimensions']})",
                    },
                )
            )
    for order, (resource, metric, seconds) in enumerate(
        (
            ("kinesis shard writes", "producer PutRecords throttled records", producer_throttled),
            ("api throttle", "API 429 answers", api_throttled),
        ),
        start=len(THROTTLE_SIGNALS),
    ):
        hits = {s: n for s, n in seconds.items() if n > 0}
        if hits:
            first = min(hits)
            total = sum(hits.values())
            if resource == "kinesis shard writes" and any(
                c[2]["resource"] == resource for c in candidates
            ):
                continue
            candidates.append(
                (
                    first,
                    order,
                    {
                        "resource": resource,
                        "metric": metric,
                        "first_at": first,
                        "value": total,
                        "evidence": f"{total} {metric}, first at {_iso(first)}"
                        " (seen by the load generator)",
                    },
                )
            )
    if not candidates:
        return None
    return min(candidates, key=lambda c: (c[0], c[1]))[2]


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


CONSUMER = "ingest consumer throughput"


def bottleneck_of_steps(
    steps: list[dict[str, Any]],
    rows: Iterable[dict[str, Any]],
    ignore_dimensions: frozenset[str] = frozenset(),
) -> dict[str, Any] | None:
    """The resource behind the first probe the pipeline did not sustain, from its window.

    `ignore_dimensions`: resources only the measurement touched (the API function in an
    ingest-only run, polled by the end-to-end probes) are not candidates.
    """
    failed = next((s for s in steps if not s.get("sustained")), None)
    if failed is None:
        return None
    start = float(failed["started_at"])
    end = start + float(failed["duration_s"]) + 1
    in_window = [
        r
        for r in rows
        if start - 1 <= r["timestamp"] < end and r["dimensions"] not in ignore_dimensions
    ]
    rate = float(failed["target_rate"])
    reasons = failed.get("reasons") or ""
    throttled = first_throttled(in_window, {}, {})
    if throttled is not None:
        return {**throttled, "rate": rate, "reasons": reasons}
    # (marker in the reasons, resource, metric, the step's column that measured it, why)
    explanations = (
        (
            TABLE_OVERSPEND,
            "dynamodb table writes",
            "AWS/DynamoDB ConsumedWriteCapacityUnits",
            "target_rate",
            "the table spent more write capacity than provisioned (burst credit, not sustainable):",
        ),
        (
            "throttled",
            "kinesis shard writes",
            "producer PutRecords throttled records",
            "throttled_rate",
            "the producers saw",
        ),
        (
            "produced->readable grew",
            CONSUMER,
            "e2e.probe produced->readable growth (ms a second)",
            "e2e_growth_ms_per_s",
            "nothing throttled but the consumer fell behind:",
        ),
        (
            "produced->readable",
            CONSUMER,
            "e2e.probe produced->readable p95",
            "e2e_p95_ms",
            "nothing throttled but the consumer fell behind:",
        ),
        ("generator", "load generator", "offered rate", "offered_rate", "(add WORKERS)"),
        ("", "kinesis put latency", "kinesis.put_records p99", "latency_p99_ms", ""),
    )
    for marker, resource, metric, column, why in explanations:
        if marker in reasons:
            return {
                "resource": resource,
                "metric": metric,
                "first_at": int(start),
                "value": float(failed.get(column) or 0),
                "evidence": f"at {rate:.0f} records/s {why} {reasons}".replace("  ", " "),
                "rate": rate,
                "reasons": reasons,
            }
    return None
