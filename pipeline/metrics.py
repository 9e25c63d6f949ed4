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
    "BatchWriteItem retries (UnprocessedItems or throttling)",
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
)

AWS: Final = KINESIS + DYNAMODB + LAMBDA + API_GATEWAY + SQS
ALL: Final = PIPELINE + AWS


def by_name(name: str, namespace: str | None = None) -> Metric:
    for metric in ALL:
        if metric.name == name and (namespace is None or metric.namespace == namespace):
            return metric
    raise KeyError(f"unknown metric {namespace + ':' if namespace else ''}{name}")
