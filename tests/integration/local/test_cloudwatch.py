"""CloudWatch through the gateway: PutMetricData in every shape, GetMetricData with
percentiles at any period, GetMetricStatistics, ListMetrics, both wire protocols."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import cbor2
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from pipeline.local import loopback
from tests.integration.local.conftest import unique

pytestmark = pytest.mark.integration


def query(metric: str, namespace: str, stat: str, period: int, dims=None, qid="q"):
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in (dims or {}).items()],
            },
            "Period": period,
            "Stat": stat,
        },
    }


def window():
    now = datetime.now(UTC)
    return {"StartTime": now - timedelta(minutes=10), "EndTime": now + timedelta(minutes=1)}


def test_percentiles_and_basic_statistics_from_raw_values(aws):
    cloudwatch = aws("cloudwatch")
    namespace = unique("Redline")
    dims = [{"Name": "service", "Value": "ingest"}]
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": "Latency",
                "Dimensions": dims,
                "Values": [float(v) for v in range(1, 51)],
                "Unit": "Milliseconds",
            },
            {
                "MetricName": "Latency",
                "Dimensions": dims,
                "Values": [float(v) for v in range(51, 101)],
                "Unit": "Milliseconds",
            },
        ],
    )
    stats = ("p50", "p95", "p99", "Average", "Minimum", "Maximum", "SampleCount", "Sum")
    reply = cloudwatch.get_metric_data(
        MetricDataQueries=[
            query("Latency", namespace, stat, 60, {"service": "ingest"}, qid=stat.lower())
            for stat in stats
        ],
        **window(),
    )
    values = {r["Id"]: r["Values"] for r in reply["MetricDataResults"]}
    assert values == {
        "p50": [50.0],
        "p95": [95.0],
        "p99": [99.0],
        "average": [50.5],
        "minimum": [1.0],
        "maximum": [100.0],
        "samplecount": [100.0],
        "sum": [5050.0],
    }
    assert all(r["StatusCode"] == "Complete" for r in reply["MetricDataResults"])


def test_counts_statistic_values_and_one_second_periods(aws):
    cloudwatch = aws("cloudwatch")
    namespace = unique("Redline")
    now = datetime.now(UTC).replace(microsecond=0)
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": "M",
                "Values": [10.0, 20.0],
                "Counts": [3.0, 1.0],
                "Timestamp": now - timedelta(seconds=2),
            },
            {
                "MetricName": "M",
                "StatisticValues": {"SampleCount": 4, "Sum": 100, "Minimum": 5, "Maximum": 50},
                "Timestamp": now - timedelta(seconds=1),
            },
            {"MetricName": "M", "Value": 7.0, "Timestamp": now - timedelta(seconds=1)},
        ],
    )
    reply = cloudwatch.get_metric_data(
        MetricDataQueries=[
            query("M", namespace, "Sum", 1),
            query("M", namespace, "SampleCount", 1, qid="n"),
        ],
        ScanBy="TimestampAscending",
        **window(),
    )
    sums, counts = reply["MetricDataResults"]
    assert [t.timestamp() for t in sums["Timestamps"]] == [
        (now - timedelta(seconds=2)).timestamp(),
        (now - timedelta(seconds=1)).timestamp(),
    ]
    assert sums["Values"] == [50.0, 107.0]
    assert counts["Values"] == [4.0, 5.0]
    stats = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName="M",
        Period=60,
        Statistics=["Maximum", "SampleCount"],
        ExtendedStatistics=["p50"],
        **window(),
    )
    (point,) = stats["Datapoints"]
    assert point["Maximum"] == 50.0 and point["SampleCount"] == 9.0
    assert point["ExtendedStatistics"]["p50"] == 10.0  # raw values 10,10,10,20,7 -> median 10


def test_bad_statistic_is_invalid_parameter_value_naming_the_allowed_values(aws):
    cloudwatch = aws("cloudwatch")
    with pytest.raises(cloudwatch.exceptions.InvalidParameterValueException) as caught:
        cloudwatch.get_metric_data(
            MetricDataQueries=[query("M", "Redline", "p1000", 60)], **window()
        )
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "p1000" in caught.value.response["Error"]["Message"]
    assert "p99" in caught.value.response["Error"]["Message"]
    with pytest.raises(cloudwatch.exceptions.ClientError) as missing:
        cloudwatch.put_metric_data(Namespace="Redline", MetricData=[{"MetricName": "X"}])
    assert missing.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "Value, Values or StatisticValues" in missing.value.response["Error"]["Message"]


def test_list_metrics_filters_by_namespace_name_and_dimension(aws):
    cloudwatch = aws("cloudwatch")
    namespace = unique("Redline")
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {"MetricName": "A", "Value": 1, "Dimensions": [{"Name": "service", "Value": "api"}]},
            {"MetricName": "A", "Value": 1, "Dimensions": [{"Name": "service", "Value": "ingest"}]},
            {"MetricName": "B", "Value": 1},
        ],
    )
    listed = cloudwatch.list_metrics(
        Namespace=namespace, MetricName="A", Dimensions=[{"Name": "service", "Value": "api"}]
    )
    assert listed["Metrics"] == [
        {
            "Namespace": namespace,
            "MetricName": "A",
            "Dimensions": [{"Name": "service", "Value": "api"}],
        }
    ]
    assert len(cloudwatch.list_metrics(Namespace=namespace)["Metrics"]) == 3


def test_smithy_rpc_v2_cbor_protocol_answers_in_cbor(gateway):
    namespace = unique("Redline")

    def call(operation: str, payload: dict) -> tuple[int, dict, dict]:
        url = f"{gateway.endpoint_url}/service/GraniteServiceVersion20100801/operation/{operation}"
        signed = AWSRequest(
            method="POST",
            url=url,
            data=cbor2.dumps(payload, datetime_as_timestamp=True),
            headers={
                "Content-Type": "application/cbor",
                "smithy-protocol": "rpc-v2-cbor",
                "Accept": "application/cbor",
            },
        )
        # Signed as any AWS client signs: the gateway checks SigV4.
        SigV4Auth(Credentials("test", "test"), "monitoring", "us-east-1").add_auth(signed)
        request = urllib.request.Request(
            url, data=signed.body, headers=dict(signed.headers.items()), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, dict(reply.headers), cbor2.loads(reply.read())
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), cbor2.loads(exc.read())

    status, headers, _ = call(
        "PutMetricData",
        {"Namespace": namespace, "MetricData": [{"MetricName": "C", "Values": [1.0, 2.0, 3.0]}]},
    )
    assert status == 200 and headers["smithy-protocol"] == "rpc-v2-cbor"
    now = datetime.now(UTC)
    status, _, body = call(
        "GetMetricData",
        {
            "MetricDataQueries": [query("C", namespace, "p50", 60)],
            "StartTime": now - timedelta(minutes=5),
            "EndTime": now + timedelta(minutes=1),
        },
    )
    assert status == 200
    assert body["MetricDataResults"][0]["Values"] == [2.0]
    assert isinstance(body["MetricDataResults"][0]["Timestamps"][0], datetime)
    status, headers, body = call("DeleteDashboards", {})
    assert status == 400
    assert body["__type"].endswith("#UnknownOperationException")
    assert "not supported" in body["message"]


def test_gateway_publishes_aws_kinesis_metrics_per_stream(aws):
    kinesis, cloudwatch = aws("kinesis"), aws("cloudwatch")
    name = unique("stream")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    time.sleep(0.2)
    kinesis.put_records(StreamName=name, Records=[{"Data": b"abc", "PartitionKey": "k"}] * 10)
    kinesis.put_record(StreamName=name, Data=b"abcd", PartitionKey="k")
    dims = {"StreamName": name}
    reply = cloudwatch.get_metric_data(
        MetricDataQueries=[
            query("IncomingRecords", "AWS/Kinesis", "Sum", 60, dims, qid="records"),
            query("IncomingBytes", "AWS/Kinesis", "Sum", 60, dims, qid="bytes"),
            query("PutRecords.TotalRecords", "AWS/Kinesis", "Sum", 60, dims, qid="total"),
            query("PutRecords.SuccessfulRecords", "AWS/Kinesis", "Sum", 60, dims, qid="ok"),
        ],
        **window(),
    )
    values = {r["Id"]: sum(r["Values"]) for r in reply["MetricDataResults"]}
    assert values == {"records": 11.0, "bytes": 10 * 4 + 5.0, "total": 10.0, "ok": 10.0}


def test_the_local_stack_publishes_aws_metrics_through_the_control_route(gateway, aws):
    """Clients may not PutMetricData into AWS/*; the local Lambda runtime publishes AWS/Lambda
    through POST /_redline/metrics, as AWS itself would."""
    cloudwatch = aws("cloudwatch")
    function = unique("redline-ingest")
    with pytest.raises(cloudwatch.exceptions.InvalidParameterValueException):
        cloudwatch.put_metric_data(
            Namespace="AWS/Lambda", MetricData=[{"MetricName": "Errors", "Value": 1}]
        )
    body = {
        "Namespace": "AWS/Lambda",
        "MetricData": [
            {
                "MetricName": "Duration",
                "Dimensions": [{"Name": "FunctionName", "Value": function}],
                "Values": [10.0, 20.0, 30.0],
                "Unit": "Milliseconds",
            }
        ],
    }
    status, _ = loopback.request(
        f"{gateway.endpoint_url}/_redline/metrics",
        "POST",
        json.dumps(body).encode(),
        timeout_s=30,
        token=gateway.token,
    )
    assert status == 200
    result = cloudwatch.get_metric_data(
        MetricDataQueries=[query("Duration", "AWS/Lambda", "p50", 60, {"FunctionName": function})],
        **window(),
    )
    assert result["MetricDataResults"][0]["Values"] == [20.0]
