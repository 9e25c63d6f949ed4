"""Every metric Redline emits or reads, defined once.

The handlers emit the `PIPELINE` metrics through Powertools (EMF, namespace `Redline`);
the local stack and AWS publish the `AWS_*` ones; the forwarder turns both into New
Relic metrics (`newrelic_name`), and the dashboards, alerts and reports cite these
names. Nothing else spells a metric name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

NAMESPACE: Final = "Redline"

# Dimension set of every pipeline metric (Powertools adds `service`).
DIMENSION_SERVICE: Final = "service"
DIMENSION_ENVIRONMENT: Final = "environment"
SERVICE_INGEST: Final = "ingest"
SERVICE_API: Final = "api"


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str  # CloudWatch unit
    namespace: str
    description: str
    dimensions: tuple[str, ...] = ()
    statistics: tuple[str, ...] = ("Sum",)
    newrelic_name: str = ""
    tags: frozenset[str] = field(default_factory=frozenset)


def _pipeline(name: str, unit: str, service: str, description: str, nr: str, stats=("Sum",)):
    return Metric(
        name=name,
        unit=unit,
        namespace=NAMESPACE,
        description=description,
        dimensions=(DIMENSION_SERVICE, DIMENSION_ENVIRONMENT),
        statistics=stats,
        newrelic_name=nr,
        tags=frozenset({service}),
    )


PERCENTILES: Final = ("p50", "p95", "p99")

# The pipeline's own metrics (emitted by the handlers).
END_TO_END_LATENCY = _pipeline(
    "EndToEndLatency",
    "Milliseconds",
    SERVICE_INGEST,
    "stored_at - produced_at of each stored record",
    "pipeline.e2e.latency",
    stats=(*PERCENTILES, "Average", "Maximum", "SampleCount"),
)
RECORDS_STORED = _pipeline(
    "RecordsStored",
    "Count",
    SERVICE_INGEST,
    "records written to the table (first or repeated delivery)",
    "pipeline.ingest.stored",
)
RECORDS_DEAD_LETTERED = _pipeline(
    "RecordsDeadLettered",
    "Count",
    SERVICE_INGEST,
    "records that broke the event contract, sent to the dead-letter queue",
    "pipeline.ingest.dead_lettered",
)
RECORDS_FAILED = _pipeline(
    "RecordsFailed",
    "Count",
    SERVICE_INGEST,
    "records reported in batchItemFailures for Kinesis to redeliver",
    "pipeline.ingest.failed",
)
WRITE_RETRIES = _pipeline(
    "WriteRetries",
    "Count",
    SERVICE_INGEST,
    "write retries (throttling or unreachable)",
    "pipeline.ingest.write_retries",
)
API_REQUESTS = _pipeline(
    "ApiRequests",
    "Count",
    SERVICE_API,
    "read API requests, every status",
    "pipeline.api.requests",
)
API_CLIENT_ERRORS = _pipeline(
    "ApiClientErrors",
    "Count",
    SERVICE_API,
    "read API 4xx answers",
    "pipeline.api.errors.4xx",
)
API_SERVER_ERRORS = _pipeline(
    "ApiServerErrors",
    "Count",
    SERVICE_API,
    "read API 5xx answers",
    "pipeline.api.errors.5xx",
)
API_LATENCY = _pipeline(
    "ApiLatency",
    "Milliseconds",
    SERVICE_API,
    "read API handler time per request",
    "pipeline.api.latency",
    stats=(*PERCENTILES, "Average", "Maximum", "SampleCount"),
)

PIPELINE: Final = (
    END_TO_END_LATENCY,
    RECORDS_STORED,
    RECORDS_DEAD_LETTERED,
    RECORDS_FAILED,
    WRITE_RETRIES,
    API_REQUESTS,
    API_CLIENT_ERRORS,
    API_SERVER_ERRORS,
    API_LATENCY,
)


def _aws(namespace: str, name: str, unit: str, dimension: str, description: str, stats=("Sum",)):
    short = namespace.split("/", 1)[1].lower()
    by = {
        "StreamName": "byStream",
        "TableName": "byTable",
        "FunctionName": "byFunction",
        "ApiId": "byApi",
        "QueueName": "byQueue",
    }[dimension]
    return Metric(
        name=name,
        unit=unit,
        namespace=namespace,
        description=description,
        dimensions=(dimension,),
        statistics=stats,
        newrelic_name=f"aws.{short}.{name}.{by}",
    )


# AWS's own metrics (published by AWS, or by the local stack under the same names).
KINESIS: Final = (
    _aws("AWS/Kinesis", "IncomingRecords", "Count", "StreamName", "records accepted"),
    _aws("AWS/Kinesis", "IncomingBytes", "Bytes", "StreamName", "bytes accepted"),
    _aws("AWS/Kinesis", "PutRecords.TotalRecords", "Count", "StreamName", "records offered"),
    _aws("AWS/Kinesis", "PutRecords.SuccessfulRecords", "Count", "StreamName", "records stored"),
    _aws("AWS/Kinesis", "PutRecords.ThrottledRecords", "Count", "StreamName", "records throttled"),
    _aws(
        "AWS/Kinesis",
        "WriteProvisionedThroughputExceeded",
        "Count",
        "StreamName",
        "records rejected by shard write limits",
    ),
    _aws(
        "AWS/Kinesis",
        "ReadProvisionedThroughputExceeded",
        "Count",
        "StreamName",
        "GetRecords calls rejected by shard read limits",
    ),
    _aws(
        "AWS/Kinesis",
        "GetRecords.IteratorAgeMilliseconds",
        "Milliseconds",
        "StreamName",
        "age of the last record read",
        stats=("Maximum", "Average"),
    ),
)
# Kinesis enhanced (shard-level) monitoring: the same namespace, one series per shard
# (dimensions StreamName and ShardId). AWS publishes these only when the stream's
# shard-level metrics are enabled (Terraform `shard_level_metrics`); the local gateway always
# does. They stay out of AWS/ALL (one series per stream there); the run folder keeps them in
# kinesis_shards.csv. https://docs.aws.amazon.com/streams/latest/dev/monitoring-with-cloudwatch.html
KINESIS_SHARD_DIMENSIONS: Final = ("StreamName", "ShardId")


def _shard(name: str, unit: str, description: str, stats=("Sum",)) -> Metric:
    return Metric(
        name=name,
        unit=unit,
        namespace="AWS/Kinesis",
        description=description,
        dimensions=KINESIS_SHARD_DIMENSIONS,
        statistics=stats,
        newrelic_name=f"aws.kinesis.{name}.byShard",
    )


KINESIS_SHARD: Final = (
    _shard("IncomingRecords", "Count", "records the shard accepted"),
    _shard("IncomingBytes", "Bytes", "bytes the shard accepted"),
    _shard("WriteProvisionedThroughputExceeded", "Count", "records the shard's limits refused"),
    _shard("ReadProvisionedThroughputExceeded", "Count", "GetRecords calls the shard refused"),
    _shard("OutgoingRecords", "Count", "records GetRecords returned from the shard"),
    _shard("OutgoingBytes", "Bytes", "bytes GetRecords returned from the shard"),
    _shard(
        "IteratorAgeMilliseconds",
        "Milliseconds",
        "age of the last record read from the shard",
        stats=("Maximum",),
    ),
)
# the names the shard-level metrics go by (a shard-level IncomingRecords is the stream's name)
SHARD_INCOMING_RECORDS, SHARD_INCOMING_BYTES, SHARD_WRITE_EXCEEDED = (
    KINESIS_SHARD[0].name,
    KINESIS_SHARD[1].name,
    KINESIS_SHARD[2].name,
)
SHARD_READ_EXCEEDED, SHARD_OUTGOING_RECORDS, SHARD_OUTGOING_BYTES, SHARD_ITERATOR_AGE = (
    KINESIS_SHARD[3].name,
    KINESIS_SHARD[4].name,
    KINESIS_SHARD[5].name,
    KINESIS_SHARD[6].name,
)

DYNAMODB: Final = (
    _aws("AWS/DynamoDB", "ConsumedWriteCapacityUnits", "Count", "TableName", "WCU spent"),
    _aws("AWS/DynamoDB", "ConsumedReadCapacityUnits", "Count", "TableName", "RCU spent"),
    _aws(
        "AWS/DynamoDB",
        "ProvisionedWriteCapacityUnits",
        "Count",
        "TableName",
        "WCU provisioned",
        stats=("Average",),
    ),
    _aws(
        "AWS/DynamoDB",
        "ProvisionedReadCapacityUnits",
        "Count",
        "TableName",
        "RCU provisioned",
        stats=("Average",),
    ),
    _aws("AWS/DynamoDB", "WriteThrottleEvents", "Count", "TableName", "throttled write requests"),
    _aws("AWS/DynamoDB", "ReadThrottleEvents", "Count", "TableName", "throttled read requests"),
    _aws(
        "AWS/DynamoDB",
        "ThrottledRequests",
        "Count",
        "TableName",
        "requests throttled (batch calls: only when every item was)",
    ),
)
LAMBDA: Final = (
    _aws("AWS/Lambda", "Invocations", "Count", "FunctionName", "invocations"),
    _aws("AWS/Lambda", "Errors", "Count", "FunctionName", "invocations that raised or timed out"),
    _aws("AWS/Lambda", "Throttles", "Count", "FunctionName", "invocations refused (concurrency)"),
    _aws(
        "AWS/Lambda",
        "Duration",
        "Milliseconds",
        "FunctionName",
        "handler time",
        stats=("Average", "Maximum", "p99"),
    ),
    _aws(
        "AWS/Lambda",
        "ConcurrentExecutions",
        "Count",
        "FunctionName",
        "invocations at once",
        stats=("Maximum",),
    ),
    _aws(
        "AWS/Lambda",
        "IteratorAge",
        "Milliseconds",
        "FunctionName",
        "age of the last record of a batch when it finished",
        stats=("Maximum", "Average"),
    ),
)
API_GATEWAY: Final = (
    _aws("AWS/ApiGateway", "Count", "Count", "ApiId", "requests"),
    _aws("AWS/ApiGateway", "4xx", "Count", "ApiId", "4xx answers (429 throttles included)"),
    _aws("AWS/ApiGateway", "5xx", "Count", "ApiId", "5xx answers"),
    _aws(
        "AWS/ApiGateway",
        "Latency",
        "Milliseconds",
        "ApiId",
        "request latency",
        stats=("p50", "p95", "p99", "Average"),
    ),
    _aws(
        "AWS/ApiGateway",
        "IntegrationLatency",
        "Milliseconds",
        "ApiId",
        "Lambda latency",
        stats=("p50", "p95", "p99", "Average"),
    ),
)
SQS: Final = (
    _aws(
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "Count",
        "QueueName",
        "messages waiting (DLQ depth)",
        stats=("Maximum",),
    ),
    _aws("AWS/SQS", "NumberOfMessagesSent", "Count", "QueueName", "messages sent"),
    _aws(
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        "Seconds",
        "QueueName",
        "age of the oldest message waiting",
        stats=("Maximum",),
    ),
)

AWS: Final = KINESIS + DYNAMODB + LAMBDA + API_GATEWAY + SQS
ALL: Final = PIPELINE + AWS


def by_name(name: str, namespace: str | None = None) -> Metric:
    for metric in ALL:
        if metric.name == name and (namespace is None or metric.namespace == namespace):
            return metric
    raise KeyError(f"unknown metric {namespace + ':' if namespace else ''}{name}")


# --- How each CloudWatch statistic becomes a New Relic metric (the forwarder sends these) ---
# Sum and SampleCount-only metrics become counts (interval.ms = the period). A metric with
# Average/Minimum/Maximum becomes one summary {count, sum, min, max} under `newrelic_name`
# (so NRQL's average(), max(), min(), sum() work on it as on New Relic's AWS integration);
# each percentile becomes a gauge `<newrelic_name>.<pNN>` (the Metric API takes no
# distributions).
SUMMARY_STATISTICS: Final = ("SampleCount", "Sum", "Minimum", "Maximum")
_SUMMARY_TRIGGERS: Final = frozenset({"Average", "Minimum", "Maximum", "SampleCount"})


@dataclass(frozen=True)
class NewRelicSeries:
    """One New Relic metric the forwarder sends for a CloudWatch metric."""

    name: str
    type: str  # "count" | "summary" | "gauge"
    statistics: tuple[str, ...]  # the CloudWatch statistics it is made of


def newrelic_series(metric: Metric) -> tuple[NewRelicSeries, ...]:
    series: list[NewRelicSeries] = []
    stats = set(metric.statistics)
    if stats & _SUMMARY_TRIGGERS:
        series.append(NewRelicSeries(metric.newrelic_name, "summary", SUMMARY_STATISTICS))
    elif "Sum" in stats:
        series.append(NewRelicSeries(metric.newrelic_name, "count", ("Sum",)))
    series.extend(
        NewRelicSeries(f"{metric.newrelic_name}.{stat}", "gauge", (stat,))
        for stat in metric.statistics
        if stat.startswith("p")
    )
    return tuple(series)


# --- Derived by the forwarder (New Relic only: no CloudWatch counterpart) ---
COMPONENT_INGEST: Final = "ingest"
COMPONENT_API: Final = "api"
COMPONENT_END_TO_END: Final = "end_to_end"
COMPONENTS: Final = (COMPONENT_INGEST, COMPONENT_API, COMPONENT_END_TO_END)


@dataclass(frozen=True)
class DerivedMetric:
    newrelic_name: str
    type: str  # "count" | "gauge"
    unit: str
    description: str


def _component_metrics(prefix: str, what: str) -> dict[str, DerivedMetric]:
    return {
        "attempts": DerivedMetric(
            f"{prefix}.attempts", "count", "Count", f"{what}: everything judged this minute"
        ),
        "successes": DerivedMetric(f"{prefix}.successes", "count", "Count", f"{what}: good"),
        "errors": DerivedMetric(f"{prefix}.errors", "count", "Count", f"{what}: failed"),
        "success_rate": DerivedMetric(
            f"{prefix}.success_rate",
            "gauge",
            "Percent",
            f"{what}: successes / attempts x 100; not sent for a minute without attempts",
        ),
        "error_rate": DerivedMetric(
            f"{prefix}.error_rate",
            "gauge",
            "Percent",
            f"{what}: errors / attempts x 100; not sent for a minute without attempts",
        ),
    }


# ingest: records the consumer handled (stored + dead-lettered + reported failed);
# api: requests API Gateway answered, less the handler's own 4xx (the client's mistakes);
# 5xx and API Gateway's throttles (its 4xx beyond the handler's) are errors;
# end_to_end: records offered to the stream (accepted + write-throttled); throttled or
# dead-lettered records are errors.
COMPONENT_METRICS: Final = {
    COMPONENT_INGEST: _component_metrics("pipeline.ingest", "records the consumer handled"),
    COMPONENT_API: _component_metrics("pipeline.api", "requests API Gateway answered"),
    COMPONENT_END_TO_END: _component_metrics("pipeline.e2e", "records offered to the stream"),
}
IDLE_MINUTES: Final = DerivedMetric(
    "pipeline.idle_minutes",
    "count",
    "Count",
    "1 for a minute in which a component (attribute `component`) had no attempts: its rates "
    "are not sent for that minute rather than sent as 0% or 100%",
)
API_LATENCY_OBJECTIVE_MINUTES: Final = DerivedMetric(
    "pipeline.api.latency.objective.minutes",
    "count",
    "Count",
    "1 for each minute with API requests (the service level's valid events)",
)
API_LATENCY_OBJECTIVE_GOOD_MINUTES: Final = DerivedMetric(
    "pipeline.api.latency.objective.good_minutes",
    "count",
    "Count",
    "1 for each minute whose API Gateway p95 latency was within the objective "
    "(attribute `objective.ms`)",
)
FORWARDER_POINTS: Final = DerivedMetric(
    "pipeline.forwarder.points",
    "count",
    "Count",
    "points the forwarder sent for the minute (its heartbeat: silence alerts on it)",
)
DERIVED: Final = (
    *(m for per_component in COMPONENT_METRICS.values() for m in per_component.values()),
    IDLE_MINUTES,
    API_LATENCY_OBJECTIVE_MINUTES,
    API_LATENCY_OBJECTIVE_GOOD_MINUTES,
    FORWARDER_POINTS,
)


def newrelic_metric_names() -> dict[str, str]:
    """Every New Relic metric name the forwarder can send, with its type."""
    names = {s.name: s.type for metric in ALL for s in newrelic_series(metric)}
    names.update({d.newrelic_name: d.type for d in DERIVED})
    return names


# Attributes on the forwarder's points (besides New Relic's own, e.g. metricName).
ATTRIBUTE_ENVIRONMENT: Final = "environment"
ATTRIBUTE_COMPONENT: Final = "component"
# Which queue an AWS/SQS point is about (with `queue`, its name): the dead-letter queue
# (bad records, with their data) or the ingest mapping's on-failure destination (pointers
# to batches the mapping gave up on, readable only while the stream retains them).
ATTRIBUTE_QUEUE_ROLE: Final = "queue.role"
QUEUE_ROLE_DEAD_LETTER: Final = "dead_letter"
QUEUE_ROLE_ON_FAILURE: Final = "on_failure"
RESOURCE_ATTRIBUTES: Final = {
    "StreamName": "stream",
    "TableName": "table",
    "FunctionName": "function",
    "ApiId": "api",
    "QueueName": "queue",
}
FORWARDER_ATTRIBUTES: Final = frozenset(
    {
        ATTRIBUTE_ENVIRONMENT,
        ATTRIBUTE_COMPONENT,
        ATTRIBUTE_QUEUE_ROLE,
        *RESOURCE_ATTRIBUTES.values(),
        "objective.ms",
        "instrumentation.provider",
    }
)
