"""EMF lines and the runtime's own data points become PutMetricData calls."""

from __future__ import annotations

import json

from pipeline.local.runtime.cloudwatch import MetricsPublisher, parse_emf

EMF = {
    "_aws": {
        "Timestamp": 1_700_000_000_000,
        "CloudWatchMetrics": [
            {
                "Namespace": "Redline",
                "Dimensions": [["service", "environment"]],
                "Metrics": [
                    {"Name": "RecordsStored", "Unit": "Count"},
                    {"Name": "EndToEndLatency", "Unit": "Milliseconds"},
                ],
            }
        ],
    },
    "service": "ingest",
    "environment": "local",
    "RecordsStored": 7,
    "EndToEndLatency": [12.5, 30.0],
}


def test_emf_line_yields_each_metric_with_its_dimensions():
    parsed = list(parse_emf(json.dumps(EMF)))
    assert parsed == [
        (
            "Redline",
            "RecordsStored",
            {"service": "ingest", "environment": "local"},
            "Count",
            [7.0],
            1_700_000_000.0,
        ),
        (
            "Redline",
            "EndToEndLatency",
            {"service": "ingest", "environment": "local"},
            "Milliseconds",
            [12.5, 30.0],
            1_700_000_000.0,
        ),
    ]


def test_lines_that_are_not_emf_yield_nothing():
    for line in ("plain text", '{"level": "INFO"}', '{"_aws": 1}', "{not json _aws"):
        assert list(parse_emf(line)) == []


def test_publisher_sums_counts_keeps_maxima_and_distributions():
    calls = []
    publisher = MetricsPublisher(lambda **call: calls.append(call))
    dims = {"FunctionName": "f"}
    for _ in range(3):
        publisher.count("AWS/Lambda", "Invocations", dims, at=100.2)
    publisher.gauge_max("AWS/Lambda", "ConcurrentExecutions", dims, 2, at=100.5)
    publisher.gauge_max("AWS/Lambda", "ConcurrentExecutions", dims, 5, at=100.7)
    publisher.observe("AWS/Lambda", "Duration", dims, 10.0, at=100.1)
    publisher.observe("AWS/Lambda", "Duration", dims, 10.0, at=100.9)
    publisher.observe("AWS/Lambda", "Duration", dims, 20.04, at=100.9)
    publisher.record_emf(json.dumps(EMF))
    publisher.flush(everything=True)
    data = {(c["Namespace"], d["MetricName"]): d for c in calls for d in c["MetricData"]}
    assert data[("AWS/Lambda", "Invocations")]["Value"] == 3
    assert data[("AWS/Lambda", "ConcurrentExecutions")]["Value"] == 5
    duration = data[("AWS/Lambda", "Duration")]
    assert (duration["Values"], duration["Counts"]) == ([10.0, 20.0], [2.0, 1.0])
    assert duration["Timestamp"].timestamp() == 100
    assert data[("Redline", "EndToEndLatency")]["Values"] == [12.5, 30.0]
    assert data[("Redline", "RecordsStored")]["Dimensions"] == [
        {"Name": "environment", "Value": "local"},
        {"Name": "service", "Value": "ingest"},
    ]


def test_large_distributions_are_split_into_datums_of_150_values():
    calls = []
    publisher = MetricsPublisher(lambda **call: calls.append(call))
    for value in range(400):
        publisher.observe("AWS/ApiGateway", "Latency", {"ApiId": "a"}, value, at=5)
    publisher.flush(everything=True)
    sizes = [len(d["Values"]) for d in calls[0]["MetricData"]]
    assert sizes == [150, 150, 100]


def test_a_failing_put_is_counted_not_raised():
    def fail(**_):
        raise ConnectionError("endpoint down")

    publisher = MetricsPublisher(fail)
    publisher.count("AWS/Lambda", "Errors", {"FunctionName": "f"}, at=1)
    publisher.flush(everything=True)
    assert publisher.failures == 1
