"""CloudWatch values of one minute -> New Relic Metric API points, and the derived error and
success rates per component (ingest, API, end to end)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from monitors.definitions.objectives import API_LATENCY_P95_OBJECTIVE_MS
from pipeline import metrics as m

from .cloudwatch import PERIOD_S, Query, Source

INTERVAL_MS: Final = PERIOD_S * 1000
PROVIDER: Final = "redline-forwarder"

Point = dict[str, Any]


@dataclass(frozen=True)
class MinuteBlock:
    """Every point of one minute: one element of a Metric API body."""

    minute: int  # epoch seconds of the minute's start
    common_attributes: tuple[tuple[str, str], ...]
    points: tuple[Point, ...]

    def common(self) -> dict[str, Any]:
        return {
            "timestamp": self.minute * 1000,
            "interval.ms": INTERVAL_MS,
            "attributes": dict(self.common_attributes),
        }


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _series_points(source: Source, stats: Mapping[str, float | None]) -> list[Point]:
    attributes = dict(source.attributes)
    points: list[Point] = []
    for series in m.newrelic_series(source.metric):
        if series.type == "count":
            value = stats.get("Sum")
            # No datapoint is not a count of 0: the metric may be late or its source down.
            if not _finite(value):
                continue
            points.append(
                {"name": series.name, "type": "count", "value": value, "attributes": attributes}
            )
        elif series.type == "summary":
            count, total = stats.get("SampleCount"), stats.get("Sum")
            low, high = stats.get("Minimum"), stats.get("Maximum")
            if not (_finite(count) and count and _finite(total) and _finite(low) and _finite(high)):
                continue
            points.append(
                {
                    "name": series.name,
                    "type": "summary",
                    "value": {"count": count, "sum": total, "min": low, "max": high},
                    "attributes": attributes,
                }
            )
        else:
            (statistic,) = series.statistics
            value = stats.get(statistic)
            if _finite(value):
                points.append(
                    {"name": series.name, "type": "gauge", "value": value, "attributes": attributes}
                )
    return points


def _count(name: str, value: float, attributes: dict[str, str]) -> Point:
    return {"name": name, "type": "count", "value": value, "attributes": attributes}


def _component_points(component: str, attempts: float, errors: float, successes: float):
    named = m.COMPONENT_METRICS[component]
    attributes = {m.ATTRIBUTE_COMPONENT: component}
    points = [
        _count(named["attempts"].newrelic_name, attempts, attributes),
        _count(named["errors"].newrelic_name, errors, attributes),
        _count(named["successes"].newrelic_name, successes, attributes),
    ]
    if attempts > 0:
        for key, part in (("error_rate", errors), ("success_rate", successes)):
            points.append(
                {
                    "name": named[key].newrelic_name,
                    "type": "gauge",
                    "value": round(100.0 * part / attempts, 4),
                    "attributes": attributes,
                }
            )
    else:
        points.append(_count(m.IDLE_MINUTES.newrelic_name, 1, attributes))
    return points


class _Lookup:
    """Values of one minute by (metric, statistic) for the derived figures."""

    def __init__(self, values: dict[tuple[m.Metric, str], float]):
        self.values = values

    def sum(self, metric: m.Metric) -> float:
        value = self.values.get((metric, "Sum"))
        return value if _finite(value) else 0.0

    def get(self, metric: m.Metric, statistic: str) -> float | None:
        value = self.values.get((metric, statistic))
        return value if _finite(value) else None


def derived_points(lookup: _Lookup) -> list[Point]:
    """Error and success rates per component; a minute without attempts is an idle minute."""
    kinesis = {metric.name: metric for metric in m.KINESIS}
    gateway = {metric.name: metric for metric in m.API_GATEWAY}

    stored = lookup.sum(m.RECORDS_STORED)
    dead_lettered = lookup.sum(m.RECORDS_DEAD_LETTERED)
    failed = lookup.sum(m.RECORDS_FAILED)
    points = _component_points(
        m.COMPONENT_INGEST, stored + dead_lettered + failed, dead_lettered + failed, stored
    )

    # API Gateway's 4xx hold both the handler's own (a bad id, a bad parameter: the client's
    # mistake, judged neither way) and API Gateway's 429 throttles (a failure the client saw).
    requests = lookup.sum(gateway["Count"])
    all_4xx, server_errors = lookup.sum(gateway["4xx"]), lookup.sum(gateway["5xx"])
    handler_4xx = min(all_4xx, lookup.sum(m.API_CLIENT_ERRORS))
    throttled = all_4xx - handler_4xx
    judged = max(0.0, requests - handler_4xx)
    errors = min(judged, server_errors + throttled)
    points += _component_points(m.COMPONENT_API, judged, errors, judged - errors)

    throttled = lookup.sum(kinesis["WriteProvisionedThroughputExceeded"])
    offered = lookup.sum(kinesis["IncomingRecords"]) + throttled
    errors = min(offered, throttled + dead_lettered)
    points += _component_points(m.COMPONENT_END_TO_END, offered, errors, offered - errors)

    p95 = lookup.get(gateway["Latency"], "p95")
    if requests > 0 and p95 is not None:
        attributes = {
            m.ATTRIBUTE_COMPONENT: m.COMPONENT_API,
            "objective.ms": API_LATENCY_P95_OBJECTIVE_MS,
        }
        points.append(_count(m.API_LATENCY_OBJECTIVE_MINUTES.newrelic_name, 1, attributes))
        good = 1 if p95 <= API_LATENCY_P95_OBJECTIVE_MS else 0
        points.append(_count(m.API_LATENCY_OBJECTIVE_GOOD_MINUTES.newrelic_name, good, attributes))
    return points


def minute_blocks(
    queries: list[Query],
    values: dict[str, dict[int, float]],
    minutes: list[int],
    environment: str,
    forward_aws_metrics: bool = True,
) -> list[MinuteBlock]:
    """One block per minute, oldest first, its points in a fixed order (the checkpoint counts
    points of a partly delivered minute, so the order must be the same on the next run)."""
    by_source: dict[Source, list[Query]] = {}
    for query in queries:
        by_source.setdefault(query.source, []).append(query)
    common = ((m.ATTRIBUTE_ENVIRONMENT, environment), ("instrumentation.provider", PROVIDER))
    blocks = []
    for minute in minutes:
        points: list[Point] = []
        lookup: dict[tuple[m.Metric, str], float] = {}
        for source, source_queries in by_source.items():
            stats = {q.statistic: values.get(q.query_id, {}).get(minute) for q in source_queries}
            if source.metric.namespace == m.NAMESPACE or forward_aws_metrics:
                points += _series_points(source, stats)
            for statistic, value in stats.items():
                if value is not None:
                    lookup[(source.metric, statistic)] = value
        points += derived_points(_Lookup(lookup))
        points.append(_count(m.FORWARDER_POINTS.newrelic_name, len(points) + 1, {}))
        blocks.append(MinuteBlock(minute=minute, common_attributes=common, points=tuple(points)))
    return blocks
