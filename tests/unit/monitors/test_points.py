import json
import math

from monitors.definitions.objectives import API_LATENCY_P95_OBJECTIVE_MS
from monitors.forwarder.cloudwatch import aws_sources, build_queries, pipeline_sources
from monitors.forwarder.points import minute_blocks
from pipeline import metrics as m

MINUTE = 1_790_000_040
INGEST = {"service": "ingest", "environment": "test"}


def _blocks(settings, values_by_metric, minutes=(MINUTE,), forward_aws=True):
    """values_by_metric: {(namespace, name, statistic, dimension value or None): value}"""
    resources = settings.resources
    queries = build_queries(pipeline_sources(resources) + aws_sources(resources))
    values = {}
    for query in queries:
        dims = dict(query.source.dimensions)
        for (namespace, name, statistic, resource), value in values_by_metric.items():
            if (
                query.source.metric.namespace == namespace
                and query.source.metric.name == name
                and query.statistic == statistic
                and (resource is None or resource in dims.values())
            ):
                values[query.query_id] = {MINUTE: value}
    return minute_blocks(queries, values, list(minutes), resources.environment, forward_aws)


def _points(block, name):
    return [p for p in block.points if p["name"] == name]


def _value(block, name, component=None):
    found = [
        p["value"]
        for p in _points(block, name)
        if component is None or p["attributes"].get("component") == component
    ]
    assert len(found) == 1, (name, found)
    return found[0]


def test_a_quiet_minute_sends_idle_minutes_not_fake_rates(settings_for):
    (block,) = _blocks(settings_for(), {})
    for component in m.COMPONENTS:
        rates = m.COMPONENT_METRICS[component]
        assert not _points(block, rates["error_rate"].newrelic_name)
        assert not _points(block, rates["success_rate"].newrelic_name)
        assert _value(block, rates["attempts"].newrelic_name) == 0
    idle = _points(block, m.IDLE_MINUTES.newrelic_name)
    assert sorted(p["attributes"]["component"] for p in idle) == sorted(m.COMPONENTS)
    assert all(p["value"] == 1 and p["type"] == "count" for p in idle)
    # no latency without samples: no summary, no percentile gauge
    assert not _points(block, m.END_TO_END_LATENCY.newrelic_name + ".p95")
    assert not _points(block, m.END_TO_END_LATENCY.newrelic_name)


def test_rates_per_component(settings_for):
    (block,) = _blocks(
        settings_for(),
        {
            ("Redline", "RecordsStored", "Sum", None): 95,
            ("Redline", "RecordsDeadLettered", "Sum", None): 3,
            ("Redline", "RecordsFailed", "Sum", None): 2,
            ("AWS/ApiGateway", "Count", "Sum", None): 200,
            ("AWS/ApiGateway", "4xx", "Sum", None): 10,
            ("Redline", "ApiClientErrors", "Sum", None): 6,  # 404s; the other 4 are 429s
            ("AWS/ApiGateway", "5xx", "Sum", None): 4,
            ("AWS/Kinesis", "IncomingRecords", "Sum", None): 90,
            ("AWS/Kinesis", "WriteProvisionedThroughputExceeded", "Sum", None): 10,
        },
    )
    ingest, api, e2e = (m.COMPONENT_METRICS[c] for c in m.COMPONENTS)
    assert _value(block, ingest["attempts"].newrelic_name) == 100
    assert _value(block, ingest["error_rate"].newrelic_name) == 5.0
    assert _value(block, ingest["success_rate"].newrelic_name) == 95.0
    # judged: 200 - 6 handler 4xx; errors: 4 throttled + 4 5xx; successes: 186
    assert _value(block, api["attempts"].newrelic_name) == 194
    assert _value(block, api["error_rate"].newrelic_name) == round(100 * 8 / 194, 4)
    assert _value(block, api["success_rate"].newrelic_name) == round(100 * 186 / 194, 4)
    # offered 100 = 90 accepted + 10 throttled; errors = 10 throttled + 3 dead-lettered
    assert _value(block, e2e["attempts"].newrelic_name) == 100
    assert _value(block, e2e["error_rate"].newrelic_name) == 13.0
    assert _value(block, e2e["success_rate"].newrelic_name) == 87.0
    assert not _points(block, m.IDLE_MINUTES.newrelic_name)


def test_latency_summary_and_percentile_gauges(settings_for):
    (block,) = _blocks(
        settings_for(),
        {
            ("Redline", "EndToEndLatency", "SampleCount", None): 4,
            ("Redline", "EndToEndLatency", "Sum", None): 100,
            ("Redline", "EndToEndLatency", "Minimum", None): 10,
            ("Redline", "EndToEndLatency", "Maximum", None): 40,
            ("Redline", "EndToEndLatency", "p50", None): 20,
            ("Redline", "EndToEndLatency", "p95", None): 38,
            ("Redline", "EndToEndLatency", "p99", None): float("nan"),
        },
    )
    name = m.END_TO_END_LATENCY.newrelic_name
    (summary,) = _points(block, name)
    assert summary["type"] == "summary"
    assert summary["value"] == {"count": 4, "sum": 100, "min": 10, "max": 40}
    assert summary["attributes"] == {"component": "end_to_end"}
    assert _value(block, f"{name}.p95") == 38
    assert not _points(block, f"{name}.p99")  # NaN is never sent
    assert all(not isinstance(p["value"], float) or math.isfinite(p["value"]) for p in block.points)


def test_aws_points_carry_component_and_resource_attributes(settings_for):
    (block,) = _blocks(
        settings_for(),
        {
            ("AWS/Lambda", "Errors", "Sum", "redline-ingest-test"): 2,
            ("AWS/Lambda", "Errors", "Sum", "redline-forwarder-test"): 0,
            ("AWS/Kinesis", "IncomingRecords", "Sum", None): 10,
        },
    )
    errors = _points(block, "aws.lambda.Errors.byFunction")
    by_function = {p["attributes"]["function"]: p for p in errors}
    assert by_function["redline-ingest-test"]["value"] == 2
    assert by_function["redline-ingest-test"]["attributes"]["component"] == "ingest"
    assert "redline-api-test" not in by_function  # no datapoint is absent, not a count of 0
    assert by_function["redline-forwarder-test"]["attributes"]["component"] == "forwarder"
    assert by_function["redline-forwarder-test"]["value"] == 0  # a datapoint of 0 is sent
    (stream,) = _points(block, "aws.kinesis.IncomingRecords.byStream")
    assert stream["attributes"] == {"component": "stream", "stream": "redline-events-test"}


def test_every_point_name_and_attribute_is_declared(settings_for):
    (block,) = _blocks(settings_for(), {("AWS/ApiGateway", "Count", "Sum", None): 1})
    names = m.newrelic_metric_names()
    for point in block.points:
        assert point["name"] in names
        assert point["type"] == names[point["name"]]
        assert set(point["attributes"]) <= m.FORWARDER_ATTRIBUTES
        assert len(point["attributes"]) < 100
    assert set(dict(block.common_attributes)) <= m.FORWARDER_ATTRIBUTES
    common = block.common()
    assert common["interval.ms"] == 60_000 and common["timestamp"] == MINUTE * 1000
    json.dumps(block.points, allow_nan=False)


def test_api_latency_objective_minutes(settings_for):
    fast, slow = API_LATENCY_P95_OBJECTIVE_MS, API_LATENCY_P95_OBJECTIVE_MS + 1
    for p95, good in ((fast, 1), (slow, 0)):
        (block,) = _blocks(
            settings_for(),
            {
                ("AWS/ApiGateway", "Count", "Sum", None): 5,
                ("AWS/ApiGateway", "Latency", "p95", None): p95,
            },
        )
        assert _value(block, m.API_LATENCY_OBJECTIVE_MINUTES.newrelic_name) == 1
        assert _value(block, m.API_LATENCY_OBJECTIVE_GOOD_MINUTES.newrelic_name) == good
    (idle,) = _blocks(settings_for(), {})
    assert not _points(idle, m.API_LATENCY_OBJECTIVE_MINUTES.newrelic_name)


def test_heartbeat_counts_the_minutes_points_and_aws_metrics_can_be_left_out(settings_for):
    (block,) = _blocks(settings_for(), {})
    assert _value(block, m.FORWARDER_POINTS.newrelic_name) == len(block.points)
    (lean,) = _blocks(settings_for(), {}, forward_aws=False)
    assert not [p for p in lean.points if p["name"].startswith("aws.")]
    assert _points(lean, m.COMPONENT_METRICS["api"]["attempts"].newrelic_name)
