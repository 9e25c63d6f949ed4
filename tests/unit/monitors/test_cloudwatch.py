from datetime import UTC, datetime

from monitors.forwarder.cloudwatch import (
    FetchStats,
    Query,
    Source,
    aws_sources,
    build_queries,
    fetch,
    pipeline_sources,
)
from pipeline import metrics as m
from tests.cloudwatch_paging import Boto3Paging

from .fake_cloudwatch import FakeCloudWatch

MINUTE = 1_790_000_040  # a minute start


def test_one_query_per_statistic_with_unique_ids(settings_for):
    resources = settings_for().resources
    queries = build_queries(pipeline_sources(resources) + aws_sources(resources))
    assert len({q.query_id for q in queries}) == len(queries)
    assert all(q.query_id[0].islower() for q in queries)
    latency = [q for q in queries if q.source.metric is m.END_TO_END_LATENCY]
    assert {q.statistic for q in latency} == {
        "SampleCount",
        "Sum",
        "Minimum",
        "Maximum",
        "p50",
        "p95",
        "p99",
    }
    request = latency[0].as_request()
    assert request["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "service", "Value": "ingest"},
        {"Name": "environment", "Value": "test"},
    ]
    assert request["MetricStat"]["Period"] == 60
    # the whole pipeline fits one GetMetricData call
    assert len(queries) <= 500


def test_every_lambda_metric_is_read_for_the_three_functions(settings_for):
    sources = aws_sources(settings_for().resources)
    functions = {
        dict(s.dimensions)["FunctionName"] for s in sources if s.metric.namespace == "AWS/Lambda"
    }
    assert functions == {"redline-ingest-test", "redline-api-test", "redline-forwarder-test"}


def test_no_queue_no_sqs_metrics(settings_for):
    sources = aws_sources(settings_for(DLQ_URL="").resources)
    assert not [s for s in sources if s.metric.namespace == "AWS/SQS"]


def _many_queries(count: int) -> list[Query]:
    source = Source(m.RECORDS_STORED, (("service", "ingest"), ("environment", "test")), ())
    return [Query(f"q{i}", source, "Sum") for i in range(count)]


def test_more_than_500_queries_take_more_calls_and_pages_follow_next_token():
    cloudwatch = FakeCloudWatch(page_size=50)
    for minute in range(3):
        cloudwatch.put(
            "Redline",
            "RecordsStored",
            {"service": "ingest", "environment": "test"},
            MINUTE + minute * 60 + 1,
            5,
            7,
        )
    queries = _many_queries(1001)
    stats = FetchStats()
    values = fetch(cloudwatch, queries, MINUTE, MINUTE + 180, stats)
    assert all(len(call["MetricDataQueries"]) <= 500 for call in cloudwatch.calls)
    assert {len(call["MetricDataQueries"]) for call in cloudwatch.calls} == {500, 1}
    assert any("NextToken" in call for call in cloudwatch.calls)
    assert stats.calls == len(cloudwatch.calls)
    assert values["q1000"] == {MINUTE: 12.0, MINUTE + 60: 12.0, MINUTE + 120: 12.0}
    assert len(values) == 1001


def test_missing_minutes_are_absent_and_timestamps_are_floored_to_the_minute():
    class OddTimestamps(Boto3Paging):
        def get_metric_data(self, **request):
            return {
                "MetricDataResults": [
                    {
                        "Id": "q0",
                        "Timestamps": [datetime.fromtimestamp(MINUTE + 60, UTC)],
                        "Values": [3.0],
                    }
                ]
            }

    values = fetch(OddTimestamps(), _many_queries(1), MINUTE, MINUTE + 120)
    assert values == {"q0": {MINUTE + 60: 3.0}}
