"""GetMetricData paging in one place: boto3's paginator follows NextToken, each page once."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from pipeline import cloudwatch_pages
from pipeline.cloudwatch_pages import TooManyPagesError, metric_data_pages

START = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
END = datetime(2026, 12, 1, 23, 5, tzinfo=UTC)
QUERY = {
    "Id": "q0",
    "MetricStat": {
        "Metric": {"Namespace": "AWS/Kinesis", "MetricName": "IncomingRecords"},
        "Period": 60,
        "Stat": "Sum",
    },
}
REQUEST = {"MetricDataQueries": [QUERY], "StartTime": START, "EndTime": END}


def _page(value: float, token: str | None) -> dict:
    page = {
        "MetricDataResults": [
            {"Id": "q0", "Timestamps": [START], "Values": [value], "StatusCode": "Complete"}
        ]
    }
    if token:
        page["NextToken"] = token
    return page


def _client():
    return boto3.client(
        "cloudwatch",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_pages_follow_next_token_and_each_page_is_one_call():
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("get_metric_data", _page(1.0, "t1"), REQUEST)
        stub.add_response("get_metric_data", _page(2.0, "t2"), {**REQUEST, "NextToken": "t1"})
        stub.add_response("get_metric_data", _page(3.0, None), {**REQUEST, "NextToken": "t2"})
        pages = list(metric_data_pages(client, REQUEST))
        stub.assert_no_pending_responses()
    assert [p["MetricDataResults"][0]["Values"] for p in pages] == [[1.0], [2.0], [3.0]]


def test_a_server_that_never_stops_paging_is_cut_off_with_a_clear_error(monkeypatch):
    monkeypatch.setattr(cloudwatch_pages, "MAX_PAGES", 2)
    client = _client()
    with Stubber(client) as stub:
        for n in range(3):
            expected = {**REQUEST, "NextToken": f"t{n}"} if n else REQUEST
            stub.add_response("get_metric_data", _page(float(n), f"t{n + 1}"), expected)
        with pytest.raises(TooManyPagesError, match="more than 2 pages for one request"):
            list(metric_data_pages(client, REQUEST))
