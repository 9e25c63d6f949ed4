"""An in-memory CloudWatch with GetMetricData's request and response shapes (percentiles
included, which moto does not compute), paginating with NextToken (read through boto3's paginator). The forwarder's reader
takes any client with `get_metric_data`; the integration tests use the local gateway's."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from tests.cloudwatch_paging import Boto3Paging


def _key(namespace: str, name: str, dimensions: dict[str, str]) -> tuple:
    return (namespace, name, frozenset(dimensions.items()))


class FakeCloudWatch(Boto3Paging):
    def __init__(self, page_size: int = 100_000):
        self.samples: dict[tuple, list[tuple[float, float]]] = defaultdict(list)
        self.calls: list[dict[str, Any]] = []
        self.page_size = page_size  # datapoints per page before NextToken

    def put(self, namespace: str, name: str, dimensions: dict[str, str], at: float, *values):
        self.samples[_key(namespace, name, dimensions)].extend((at, v) for v in values)

    @staticmethod
    def _stat(values: list[float], stat: str) -> float:
        if stat == "Sum":
            return sum(values)
        if stat == "SampleCount":
            return float(len(values))
        if stat == "Average":
            return sum(values) / len(values)
        if stat == "Minimum":
            return min(values)
        if stat == "Maximum":
            return max(values)
        if stat.startswith("p"):
            ordered = sorted(values)
            rank = max(1, math.ceil(float(stat[1:]) / 100 * len(ordered)))
            return ordered[rank - 1]
        raise ValueError(f"unsupported statistic {stat}")

    def get_metric_data(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        queries = request["MetricDataQueries"]
        assert len(queries) <= 500, "GetMetricData takes at most 500 queries"
        start = request["StartTime"].timestamp()
        end = request["EndTime"].timestamp()
        results = []
        for query in queries:
            stat = query["MetricStat"]
            metric = stat["Metric"]
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            period = stat["Period"]
            buckets: dict[int, list[float]] = defaultdict(list)
            for at, value in self.samples.get(
                _key(metric["Namespace"], metric["MetricName"], dims), []
            ):
                if start <= at < end:
                    buckets[int(at) // period * period].append(value)
            timestamps = sorted(buckets)
            results.append(
                {
                    "Id": query["Id"],
                    "Label": metric["MetricName"],
                    "Timestamps": [datetime.fromtimestamp(t, UTC) for t in timestamps],
                    "Values": [self._stat(buckets[t], stat["Stat"]) for t in timestamps],
                    "StatusCode": "Complete",
                }
            )
        offset = int(request.get("NextToken") or 0)
        page: list[dict[str, Any]] = []
        taken = 0
        for index, result in enumerate(results[offset:], start=offset):
            if page and taken + len(result["Values"]) > self.page_size:
                return {"MetricDataResults": page, "NextToken": str(index)}
            page.append(result)
            taken += len(result["Values"])
        return {"MetricDataResults": page}
