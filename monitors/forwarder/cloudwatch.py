"""What the forwarder reads from CloudWatch: one query per (metric, resource, statistic), all
fetched with batched GetMetricData calls at a one-minute period."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from pipeline import aws_limits as limits
from pipeline import metrics as m
from pipeline.cloudwatch_pages import metric_data_pages

from .settings import Resources

PERIOD_S: Final = 60


@dataclass(frozen=True)
class Source:
    """One CloudWatch metric of one resource, and the attributes its New Relic points carry."""

    metric: m.Metric
    dimensions: tuple[tuple[str, str], ...]
    attributes: tuple[tuple[str, str], ...]

    @property
    def statistics(self) -> tuple[str, ...]:
        needed: list[str] = []
        for series in m.newrelic_series(self.metric):
            needed.extend(s for s in series.statistics if s not in needed)
        return tuple(needed)


@dataclass(frozen=True)
class Query:
    query_id: str
    source: Source
    statistic: str

    def as_request(self) -> dict[str, Any]:
        return {
            "Id": self.query_id,
            "MetricStat": {
                "Metric": {
                    "Namespace": self.source.metric.namespace,
                    "MetricName": self.source.metric.name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in self.source.dimensions],
                },
                "Period": PERIOD_S,
                "Stat": self.statistic,
            },
            "ReturnData": True,
        }


def _aws_source(metric: m.Metric, value: str, component: str, *extra: tuple[str, str]) -> Source:
    dimension = metric.dimensions[0]
    return Source(
        metric=metric,
        dimensions=((dimension, value),),
        attributes=(
            (m.ATTRIBUTE_COMPONENT, component),
            (m.RESOURCE_ATTRIBUTES[dimension], value),
            *extra,
        ),
    )


def pipeline_sources(resources: Resources) -> list[Source]:
    """The pipeline's own metrics (namespace Redline, dimensions service + environment)."""
    sources = []
    for metric in m.PIPELINE:
        (service,) = metric.tags
        component = m.COMPONENT_END_TO_END if metric is m.END_TO_END_LATENCY else service
        sources.append(
            Source(
                metric=metric,
                dimensions=(
                    (m.DIMENSION_SERVICE, service),
                    (m.DIMENSION_ENVIRONMENT, resources.environment),
                ),
                attributes=((m.ATTRIBUTE_COMPONENT, component),),
            )
        )
    return sources


def aws_sources(resources: Resources) -> list[Source]:
    """AWS's metrics of the stream, the table, the three functions, the API and the queues
    (dead-letter and on-failure)."""
    sources = [_aws_source(metric, resources.stream_name, "stream") for metric in m.KINESIS]
    sources += [_aws_source(metric, resources.table_name, "storage") for metric in m.DYNAMODB]
    for function, component in (
        (resources.ingest_function_name, m.COMPONENT_INGEST),
        (resources.api_function_name, m.COMPONENT_API),
        (resources.forwarder_function_name, "forwarder"),
    ):
        sources += [_aws_source(metric, function, component) for metric in m.LAMBDA]
    sources += [_aws_source(metric, resources.api_id, m.COMPONENT_API) for metric in m.API_GATEWAY]
    for queue, role in (
        (resources.dead_letter_queue_name, m.QUEUE_ROLE_DEAD_LETTER),
        (resources.on_failure_queue_name, m.QUEUE_ROLE_ON_FAILURE),
    ):
        if queue:
            role_attribute = (m.ATTRIBUTE_QUEUE_ROLE, role)
            sources += [
                _aws_source(metric, queue, m.COMPONENT_INGEST, role_attribute) for metric in m.SQS
            ]
    return sources


def build_queries(sources: list[Source]) -> list[Query]:
    pairs = [(source, statistic) for source in sources for statistic in source.statistics]
    return [
        Query(query_id=f"q{number}", source=source, statistic=statistic)
        for number, (source, statistic) in enumerate(pairs)
    ]


def _chunks(queries: list[Query], size: int) -> Iterator[list[Query]]:
    for start in range(0, len(queries), size):
        yield queries[start : start + size]


@dataclass
class FetchStats:
    calls: int = 0
    datapoints: int = 0


def fetch(
    cloudwatch: Any,
    queries: list[Query],
    start_epoch: int,
    end_epoch: int,
    stats: FetchStats | None = None,
) -> dict[str, dict[int, float]]:
    """Values of every query per minute start (epoch seconds) in [start, end).

    One GetMetricData call per 500 queries (and per page, through boto3's paginator); a minute
    without a datapoint is absent from its query's dict.
    """
    stats = stats if stats is not None else FetchStats()
    minutes = max(1, (end_epoch - start_epoch) // PERIOD_S)
    per_call = max(
        1,
        min(
            limits.CLOUDWATCH_MAX_QUERIES_PER_GET_METRIC_DATA,
            limits.CLOUDWATCH_MAX_DATAPOINTS_PER_GET_METRIC_DATA // minutes,
        ),
    )
    values: dict[str, dict[int, float]] = {q.query_id: {} for q in queries}
    for chunk in _chunks(queries, per_call):
        request: dict[str, Any] = {
            "MetricDataQueries": [q.as_request() for q in chunk],
            "StartTime": datetime.fromtimestamp(start_epoch, UTC),
            "EndTime": datetime.fromtimestamp(end_epoch, UTC),
            "ScanBy": "TimestampAscending",
        }
        for response in metric_data_pages(cloudwatch, request):
            stats.calls += 1
            for result in response.get("MetricDataResults", []):
                series = values.setdefault(result["Id"], {})
                for timestamp, value in zip(
                    result.get("Timestamps", []), result.get("Values", []), strict=False
                ):
                    if value is None:
                        continue
                    minute = int(timestamp.timestamp()) // PERIOD_S * PERIOD_S
                    series[minute] = float(value)
                    stats.datapoints += 1
    return values
