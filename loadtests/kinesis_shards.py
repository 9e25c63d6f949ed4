"""Kinesis shard-level metrics of the run window, for kinesis_shards.csv.

One GetMetricData query per shard and metric (dimensions StreamName and ShardId). On AWS they
exist only when the stream has shard-level metrics enabled (Terraform `shard_level_metrics`);
the local gateway always publishes them. Shards come from ListShards, closed ones included.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3

from loadtests.cloudwatch import MAX_QUERIES_PER_CALL, client
from loadtests.runconfig import Endpoints
from pipeline import metrics as M


def shard_ids(endpoints: Endpoints) -> list[str]:
    kinesis = boto3.client(
        "kinesis", region_name=endpoints.region, endpoint_url=endpoints.aws_endpoint_url
    )
    ids: list[str] = []
    request: dict[str, Any] = {"StreamName": endpoints.stream_name}
    for _page in range(100):  # bounded pagination
        reply = kinesis.list_shards(**request)
        ids += [s["ShardId"] for s in reply.get("Shards", [])]
        if not reply.get("NextToken"):
            break
        request = {"NextToken": reply["NextToken"]}
    return ids


def fetch(endpoints: Endpoints, start: float, end: float, period: int) -> list[dict[str, Any]]:
    """Rows of kinesis_shards.csv for [start, end)."""
    wanted = [
        (shard, metric, stat)
        for shard in shard_ids(endpoints)
        for metric in M.KINESIS_SHARD
        for stat in metric.statistics
    ]
    cw = client(endpoints)
    start_time = dt.datetime.fromtimestamp(int(start) - int(start) % period, tz=dt.UTC)
    end_time = dt.datetime.fromtimestamp(int(end) + period, tz=dt.UTC)
    rows: list[dict[str, Any]] = []
    for offset in range(0, len(wanted), MAX_QUERIES_PER_CALL):
        chunk = wanted[offset : offset + MAX_QUERIES_PER_CALL]
        queries = [
            {
                "Id": f"s{i}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": metric.namespace,
                        "MetricName": metric.name,
                        "Dimensions": [
                            {"Name": "StreamName", "Value": endpoints.stream_name},
                            {"Name": "ShardId", "Value": shard},
                        ],
                    },
                    "Period": period,
                    "Stat": stat,
                },
                "ReturnData": True,
            }
            for i, (shard, metric, stat) in enumerate(chunk)
        ]
        token = None
        for _page in range(100):  # bounded pagination
            kwargs: dict[str, Any] = {
                "MetricDataQueries": queries,
                "StartTime": start_time,
                "EndTime": end_time,
                "ScanBy": "TimestampAscending",
            }
            if token:
                kwargs["NextToken"] = token
            reply = cw.get_metric_data(**kwargs)
            for result in reply.get("MetricDataResults", []):
                shard, metric, stat = chunk[int(result["Id"][1:])]
                for stamp, value in zip(result["Timestamps"], result["Values"], strict=True):
                    rows.append(
                        {
                            "timestamp": int(stamp.timestamp()),
                            "period_s": period,
                            "shard_id": shard,
                            "metric": metric.name,
                            "stat": stat,
                            "value": value,
                        }
                    )
            token = reply.get("NextToken")
            if not token:
                break
    rows.sort(key=lambda r: (r["timestamp"], r["shard_id"], r["metric"]))
    return rows
