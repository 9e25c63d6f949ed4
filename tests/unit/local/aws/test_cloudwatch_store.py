"""The gateway's CloudWatch store: statistics, percentiles, periods, validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.local.aws.cloudwatch import MetricStore, percentile
from pipeline.local.aws.errors import AwsError

T0 = 1_800_000_000.0  # a round minute


def query(stat: str, period: int, name: str = "M", dims=None) -> dict:
    return {
        "Id": "q",
        "MetricStat": {
            "Metric": {"Namespace": "N", "MetricName": name, "Dimensions": dims or []},
            "Period": period,
            "Stat": stat,
        },
    }


def get(store: MetricStore, stat: str, period: int, **kw) -> tuple[list[float], list[float]]:
    reply = store.get_metric_data(
        {
            "MetricDataQueries": [query(stat, period, **kw)],
            "StartTime": T0 - 60,
            "EndTime": T0 + 600,
            "ScanBy": "TimestampAscending",
        }
    )
    result = reply["MetricDataResults"][0]
    return [t.timestamp() for t in result["Timestamps"]], result["Values"]


def test_nearest_rank_percentile():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 99.9) == 100.0
    assert percentile([3.0], 1) == 3.0


def test_per_second_points_aggregate_into_any_period():
    store = MetricStore()
    for second in range(120):
        store.record("N", "M", (), float(second), ts=T0 + second + 0.5)
    times, sums = get(store, "Sum", 60)
    assert times == [T0, T0 + 60]
    assert sums == [sum(range(60)), sum(range(60, 120))]
    times, maxima = get(store, "Maximum", 1)
    assert len(times) == 120 and maxima[:3] == [0.0, 1.0, 2.0]
    _, p50 = get(store, "p50", 120)
    assert p50 == [59.0]


def test_dimensions_select_the_series_whatever_their_order():
    store = MetricStore()
    store.record("N", "M", (("a", "1"), ("b", "2")), 5.0, ts=T0)
    dims = [{"Name": "b", "Value": "2"}, {"Name": "a", "Value": "1"}]
    assert get(store, "Sum", 60, dims=dims)[1] == [5.0]
    assert get(store, "Sum", 60)[1] == []  # no dimensions is another series, as in CloudWatch


def test_put_metric_data_shapes():
    store = MetricStore()
    store.put_metric_data(
        {
            "Namespace": "N",
            "MetricData": [
                {"MetricName": "M", "Values": [1, 2], "Counts": [2, 1], "Timestamp": T0},
                {"MetricName": "M", "Value": 10, "Timestamp": datetime.fromtimestamp(T0, UTC)},
                {
                    "MetricName": "M",
                    "StatisticValues": {"SampleCount": 2, "Sum": 30, "Minimum": 10, "Maximum": 20},
                    "Timestamp": T0,
                },
            ],
        }
    )
    assert get(store, "SampleCount", 60)[1] == [6.0]
    assert get(store, "Sum", 60)[1] == [1 + 1 + 2 + 10 + 30]
    assert get(store, "Maximum", 60)[1] == [20.0]


@pytest.mark.parametrize(
    ("request_", "code", "fragment"),
    [
        ({"MetricData": [{"MetricName": "M", "Value": 1}]}, "MissingParameter", "Namespace"),
        (
            {"Namespace": "AWS/Kinesis", "MetricData": [{"MetricName": "M", "Value": 1}]},
            "InvalidParameterValue",
            "AWS/",
        ),
        (
            {"Namespace": "N", "MetricData": [{"MetricName": "M"}]},
            "InvalidParameterValue",
            "Value, Values or StatisticValues",
        ),
        (
            {
                "Namespace": "N",
                "MetricData": [{"MetricName": "M", "Values": [1, 2], "Counts": [1]}],
            },
            "InvalidParameterValue",
            "same size",
        ),
    ],
)
def test_put_metric_data_rejects_bad_input_naming_the_parameter(request_, code, fragment):
    with pytest.raises(AwsError) as caught:
        MetricStore().put_metric_data(request_)
    assert caught.value.code == code
    assert fragment in caught.value.message


def test_get_metric_data_rejects_bad_period_stat_and_expressions():
    store = MetricStore()
    base = {"StartTime": T0, "EndTime": T0 + 60}
    with pytest.raises(AwsError, match="Period must be 1 or greater"):
        store.get_metric_data({"MetricDataQueries": [query("Sum", 0)], **base})
    with pytest.raises(AwsError, match=r"p99\.9"):
        store.get_metric_data({"MetricDataQueries": [query("median", 60)], **base})
    with pytest.raises(AwsError, match="Metric math expressions are not supported"):
        store.get_metric_data({"MetricDataQueries": [{"Id": "e", "Expression": "m1*2"}], **base})
    with pytest.raises(AwsError, match="StartTime must be less than"):
        store.get_metric_data(
            {"MetricDataQueries": [query("Sum", 60)], "StartTime": T0, "EndTime": T0}
        )


def test_unknown_operation_lists_the_supported_ones():
    with pytest.raises(AwsError) as caught:
        MetricStore().handle("PutDashboard", {})
    assert caught.value.code == "UnknownOperationException"
    assert "GetMetricData" in caught.value.message
