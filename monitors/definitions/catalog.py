"""Redline's dashboard, alert conditions and service levels. Every metric name comes from
pipeline.metrics (tests/unit/monitors/test_nrql.py checks every query against it)."""

from __future__ import annotations

from pipeline import metrics as m

from . import objectives as o
from .model import (
    IN_ENVIRONMENT,
    AlertCondition,
    Dashboard,
    EventSet,
    Page,
    ServiceLevel,
    Threshold,
    Widget,
)

_KINESIS = {metric.name: metric.newrelic_name for metric in m.KINESIS}
_DYNAMODB = {metric.name: metric.newrelic_name for metric in m.DYNAMODB}
_LAMBDA = {metric.name: metric.newrelic_name for metric in m.LAMBDA}
_GATEWAY = {metric.name: metric.newrelic_name for metric in m.API_GATEWAY}
_SQS = {metric.name: metric.newrelic_name for metric in m.SQS}
_RATES = m.COMPONENT_METRICS
_DEAD_LETTER_QUEUE = f"{m.ATTRIBUTE_QUEUE_ROLE} = '{m.QUEUE_ROLE_DEAD_LETTER}'"
_ON_FAILURE_QUEUE = f"{m.ATTRIBUTE_QUEUE_ROLE} = '{m.QUEUE_ROLE_ON_FAILURE}'"
_LABELS = {m.COMPONENT_INGEST: "ingest", m.COMPONENT_API: "API", m.COMPONENT_END_TO_END: "e2e"}
E2E_LATENCY = m.END_TO_END_LATENCY.newrelic_name
API_LATENCY = m.API_LATENCY.newrelic_name


def q(name: str) -> str:
    """A metric name quoted for NRQL (names hold dots and digits)."""
    return f"`{name}`"


def _nrql(select: str, where: str = "", tail: str = "TIMESERIES") -> str:
    condition = IN_ENVIRONMENT + (f" AND {where}" if where else "")
    # NRQL for New Relic, built from our own constants: no SQL, no outside input.
    query = f"SELECT {select} FROM Metric WHERE {condition}"  # noqa: S608  # nosec B608
    return query + (f" {tail}" if tail else "")


def _percentiles(name: str) -> str:
    return ", ".join(f"average({q(f'{name}.{p}')}) AS '{p}'" for p in m.PERCENTILES)


def _per_component(key: str, how: str = "average") -> str:
    return ", ".join(
        f"{how}({q(_RATES[c][key].newrelic_name)}) AS '{_LABELS[c]}'" for c in m.COMPONENTS
    )


def _window_rate(component: str, part: str) -> str:
    named = _RATES[component]
    return (
        f"sum({q(named[part].newrelic_name)}) * 100 / sum({q(named['attempts'].newrelic_name)})"
        f" AS '{_LABELS[component]}'"
    )


OVERVIEW = Page(
    name="Overview",
    description="End-to-end latency, error and success rates per component, throughput",
    widgets=(
        Widget("End-to-end latency (ms): produced to stored", _nrql(_percentiles(E2E_LATENCY))),
        Widget("Error rate per component (%)", _nrql(_per_component("error_rate"))),
        Widget("Success rate per component (%)", _nrql(_per_component("success_rate"))),
        Widget(
            "Success rate over the window (%)",
            _nrql(", ".join(_window_rate(c, "successes") for c in m.COMPONENTS), tail=""),
            visualization="billboard",
            thresholds=(("warning", 99.9), ("critical", 99.0)),
        ),
        Widget(
            "Throughput (per minute)",
            _nrql(
                f"sum({q(_KINESIS['IncomingRecords'])}) AS 'records in', "
                f"sum({q(m.RECORDS_STORED.newrelic_name)}) AS 'records stored', "
                f"sum({q(_GATEWAY['Count'])}) AS 'API requests'"
            ),
        ),
        Widget(
            "Minutes without traffic per component",
            _nrql(f"sum({q(m.IDLE_MINUTES.newrelic_name)})", tail="FACET component TIMESERIES"),
            visualization="bar",
        ),
        Widget(
            "Forwarder: points sent per minute",
            _nrql(f"sum({q(m.FORWARDER_POINTS.newrelic_name)})"),
        ),
    ),
)

INGEST = Page(
    name="Ingest",
    description="Kinesis incoming vs throttled, iterator age, consumer errors, dead letters",
    widgets=(
        Widget(
            "Kinesis records: incoming vs throttled",
            _nrql(
                f"sum({q(_KINESIS['IncomingRecords'])}) AS 'incoming', "
                f"sum({q(_KINESIS['WriteProvisionedThroughputExceeded'])}) AS 'write throttled', "
                f"sum({q(_KINESIS['PutRecords.ThrottledRecords'])}) AS 'PutRecords throttled'"
            ),
        ),
        Widget(
            "Iterator age (ms)",
            _nrql(
                f"max({q(_KINESIS['GetRecords.IteratorAgeMilliseconds'])}) AS 'stream', "
                f"max({q(_LAMBDA['IteratorAge'])}) AS 'consumer'",
                where="component IN ('stream', 'ingest')",
            ),
        ),
        Widget(
            "Read throttles (GetRecords calls)",
            _nrql(f"sum({q(_KINESIS['ReadProvisionedThroughputExceeded'])})"),
        ),
        Widget(
            "Consumer: records stored, failed, dead-lettered",
            _nrql(
                f"sum({q(m.RECORDS_STORED.newrelic_name)}) AS 'stored', "
                f"sum({q(m.RECORDS_FAILED.newrelic_name)}) AS 'failed (redelivered)', "
                f"sum({q(m.RECORDS_DEAD_LETTERED.newrelic_name)}) AS 'dead-lettered'"
            ),
        ),
        Widget(
            "Consumer Lambda: invocations, errors, throttles",
            _nrql(
                f"sum({q(_LAMBDA['Invocations'])}) AS 'invocations', "
                f"sum({q(_LAMBDA['Errors'])}) AS 'errors', "
                f"sum({q(_LAMBDA['Throttles'])}) AS 'throttles'",
                where="component = 'ingest'",
            ),
        ),
        Widget(
            "Dead-letter queue depth",
            _nrql(
                f"max({q(_SQS['ApproximateNumberOfMessagesVisible'])}) AS 'visible', "
                f"sum({q(_SQS['NumberOfMessagesSent'])}) AS 'sent'",
                where=_DEAD_LETTER_QUEUE,
            ),
        ),
        Widget(
            "On-failure queue: batches to replay and the oldest one's age",
            _nrql(
                f"max({q(_SQS['ApproximateNumberOfMessagesVisible'])}) AS 'batches waiting', "
                f"max({q(_SQS['ApproximateAgeOfOldestMessage'])}) / 3600 AS 'oldest (hours)'",
                where=_ON_FAILURE_QUEUE,
            ),
        ),
    ),
)

STORAGE = Page(
    name="Storage",
    description="DynamoDB consumed vs provisioned capacity (per second) and throttle events",
    widgets=(
        Widget(
            "Write capacity units per second: consumed vs provisioned",
            _nrql(
                f"sum({q(_DYNAMODB['ConsumedWriteCapacityUnits'])}) / 60 AS 'consumed', "
                f"average({q(_DYNAMODB['ProvisionedWriteCapacityUnits'])}) AS 'provisioned'"
            ),
        ),
        Widget(
            "Read capacity units per second: consumed vs provisioned",
            _nrql(
                f"sum({q(_DYNAMODB['ConsumedReadCapacityUnits'])}) / 60 AS 'consumed', "
                f"average({q(_DYNAMODB['ProvisionedReadCapacityUnits'])}) AS 'provisioned'"
            ),
        ),
        Widget(
            "Throttle events",
            _nrql(
                f"sum({q(_DYNAMODB['WriteThrottleEvents'])}) AS 'write', "
                f"sum({q(_DYNAMODB['ReadThrottleEvents'])}) AS 'read', "
                f"sum({q(_DYNAMODB['ThrottledRequests'])}) AS 'requests'"
            ),
        ),
        Widget(
            "Consumer write retries (UnprocessedItems, throttling)",
            _nrql(f"sum({q(m.WRITE_RETRIES.newrelic_name)})"),
        ),
    ),
)

API = Page(
    name="API",
    description="Read API requests, 4xx/5xx, latency",
    widgets=(
        Widget(
            "Requests and errors",
            _nrql(
                f"sum({q(_GATEWAY['Count'])}) AS 'requests', "
                f"sum({q(_GATEWAY['4xx'])}) AS '4xx', "
                f"sum({q(_GATEWAY['5xx'])}) AS '5xx'"
            ),
        ),
        Widget("API Gateway latency (ms)", _nrql(_percentiles(_GATEWAY["Latency"]))),
        Widget("Handler latency (ms)", _nrql(_percentiles(API_LATENCY))),
        Widget(
            "API error and success rate (%)",
            _nrql(
                f"average({q(_RATES[m.COMPONENT_API]['error_rate'].newrelic_name)}) AS 'error', "
                f"average({q(_RATES[m.COMPONENT_API]['success_rate'].newrelic_name)}) "
                "AS 'success'"
            ),
        ),
        Widget(
            "API Lambda: duration, concurrency, throttles",
            _nrql(
                f"average({q(_LAMBDA['Duration'])}) AS 'avg duration ms', "
                f"max({q(_LAMBDA['ConcurrentExecutions'])}) AS 'concurrency', "
                f"sum({q(_LAMBDA['Throttles'])}) AS 'throttles'",
                where="component = 'api'",
            ),
        ),
        Widget(
            "Minutes within the latency objective",
            _nrql(
                f"sum({q(m.API_LATENCY_OBJECTIVE_GOOD_MINUTES.newrelic_name)}) * 100 / "
                f"sum({q(m.API_LATENCY_OBJECTIVE_MINUTES.newrelic_name)}) AS '% of minutes'",
                tail="",
            ),
            visualization="billboard",
        ),
    ),
)

DASHBOARD = Dashboard(
    name="Redline (${environment})",
    description="Kinesis -> Lambda -> DynamoDB pipeline and its read API, from the forwarder",
    pages=(OVERVIEW, INGEST, STORAGE, API),
)


def _minutes(duration_minutes: int) -> int:
    return duration_minutes * 60


CONDITIONS = (
    AlertCondition(
        key="e2e_latency_p95",
        name="End-to-end latency p95",
        description="Records take too long from producer to table: consumer behind or throttled.",
        nrql=_nrql(f"average({q(E2E_LATENCY + '.p95')})", tail=""),
        critical=Threshold("above", 5000, _minutes(5)),
        warning=Threshold("above", 2000, _minutes(5)),
    ),
    *(
        AlertCondition(
            key=f"{component}_error_rate",
            name=f"Error rate: {_LABELS[component]}",
            description=f"Share of {_RATES[component]['attempts'].description.split(':')[0]} "
            "that failed.",
            nrql=_nrql(
                f"sum({q(_RATES[component]['errors'].newrelic_name)}) * 100 / "
                f"sum({q(_RATES[component]['attempts'].newrelic_name)})",
                tail="",
            ),
            critical=Threshold("above", 5, _minutes(5)),
            warning=Threshold("above", 1, _minutes(5)),
        )
        for component in m.COMPONENTS
    ),
    AlertCondition(
        key="iterator_age",
        name="Consumer iterator age",
        description="The consumer Lambda falls behind the stream (records wait in the shard).",
        nrql=_nrql(f"max({q(_LAMBDA['IteratorAge'])})", where="component = 'ingest'", tail=""),
        critical=Threshold("above", 300_000, _minutes(5)),
        warning=Threshold("above", 60_000, _minutes(5)),
    ),
    AlertCondition(
        key="shard_throttling",
        name="Kinesis shard throttling",
        description="Writes or reads over the shards' limits: add shards or spread the keys.",
        nrql=_nrql(
            f"sum({q(_KINESIS['WriteProvisionedThroughputExceeded'])}) + "
            f"sum({q(_KINESIS['ReadProvisionedThroughputExceeded'])})",
            tail="",
        ),
        critical=Threshold("above", 0, _minutes(5)),
        fill="static",
        fill_value=0,
    ),
    AlertCondition(
        key="table_throttling",
        name="DynamoDB table throttling",
        description="Reads or writes over the table's capacity: raise WCU/RCU or autoscaling.",
        nrql=_nrql(
            f"sum({q(_DYNAMODB['WriteThrottleEvents'])}) + "
            f"sum({q(_DYNAMODB['ReadThrottleEvents'])})",
            tail="",
        ),
        critical=Threshold("above", 0, _minutes(5)),
        fill="static",
        fill_value=0,
    ),
    AlertCondition(
        key="dlq_growth",
        name="Dead-letter queue growing",
        description="Records break the event contract and go to the dead-letter queue.",
        nrql=_nrql(f"sum({q(m.RECORDS_DEAD_LETTERED.newrelic_name)})", tail=""),
        critical=Threshold("above", 0, _minutes(1), occurrences="at_least_once"),
        fill="static",
        fill_value=0,
    ),
    AlertCondition(
        key="on_failure_depth",
        name="Ingest on-failure queue has batches",
        description=(
            "The ingest mapping gave up on a batch: its pointers wait in the on-failure queue. "
            "Run `make replay ENV=<env>` before the stream's retention trims the records."
        ),
        nrql=_nrql(
            f"max({q(_SQS['ApproximateNumberOfMessagesVisible'])})",
            where=_ON_FAILURE_QUEUE,
            tail="",
        ),
        critical=Threshold("above", 0, _minutes(5), occurrences="at_least_once"),
    ),
    AlertCondition(
        key="on_failure_age",
        name="Ingest on-failure queue: oldest batch ageing",
        description=(
            "The oldest failed batch has waited half the time the stream still holds its "
            "records: replay now (`make replay ENV=<env>`) or lose them."
        ),
        nrql=_nrql(
            f"max({q(_SQS['ApproximateAgeOfOldestMessage'])})",
            where=_ON_FAILURE_QUEUE,
            tail="",
        ),
        critical=Threshold(
            "above", o.ON_FAILURE_OLDEST_AGE_ALERT_S, _minutes(5), occurrences="at_least_once"
        ),
    ),
    AlertCondition(
        key="forwarder_silence",
        name="Forwarder silent",
        description="No points from the metrics forwarder: every other condition is blind.",
        nrql=_nrql(f"count({q(m.FORWARDER_POINTS.newrelic_name)})", tail=""),
        critical=Threshold("below", 1, _minutes(10)),
        loss_of_signal_s=_minutes(10),
    ),
)

SERVICE_LEVELS = (
    ServiceLevel(
        key="ingest_success",
        name="Redline ingest success (${environment})",
        description="Share of records the consumer handled that were stored.",
        valid=EventSet(_RATES[m.COMPONENT_INGEST]["attempts"].newrelic_name, IN_ENVIRONMENT),
        good=EventSet(_RATES[m.COMPONENT_INGEST]["successes"].newrelic_name, IN_ENVIRONMENT),
        target_percent=o.INGEST_SUCCESS_TARGET_PERCENT,
        window_days=o.SERVICE_LEVEL_WINDOW_DAYS,
    ),
    ServiceLevel(
        key="api_latency",
        name="Redline API latency (${environment})",
        description=(
            f"Share of minutes with API traffic whose API Gateway p95 latency was at most "
            f"{o.API_LATENCY_P95_OBJECTIVE_MS:g} ms."
        ),
        valid=EventSet(m.API_LATENCY_OBJECTIVE_MINUTES.newrelic_name, IN_ENVIRONMENT),
        good=EventSet(m.API_LATENCY_OBJECTIVE_GOOD_MINUTES.newrelic_name, IN_ENVIRONMENT),
        target_percent=o.API_LATENCY_TARGET_PERCENT,
        window_days=o.SERVICE_LEVEL_WINDOW_DAYS,
    ),
)
