"""CloudWatch metrics kept by the gateway itself: datapoints per second with their raw values,
so GetMetricData answers Sum/Average/Minimum/Maximum/SampleCount and any pNN for any Period >= 1.

moto's CloudWatch returns HTTP 500 on percentile statistics and scans every datapoint per query,
hence this store. Retention: `RETENTION_S` of 1-second data (CloudWatch keeps high-resolution
data for 3 hours); older seconds are dropped as new ones arrive.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline.local.aws.errors import AwsError

RETENTION_S = 3 * 3600
MAX_VALUES_PER_SECOND = 20_000  # raw values kept per series and second, for percentiles
BASIC_STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d{1,2})?|100)$")
MAX_QUERIES = 500
MAX_DATAPOINTS_PER_RESPONSE = 100_800

Dimensions = tuple[tuple[str, str], ...]
SeriesKey = tuple[str, str, Dimensions]


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message)


def missing(name: str) -> AwsError:
    return AwsError("MissingParameter", f"The parameter {name} is required.")


@dataclass
class Second:
    """Everything recorded for one series in one second."""

    sum: float = 0.0
    count: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    values: list[float] = field(default_factory=list)

    def add(self, value: float, count: float = 1.0) -> None:
        self.sum += value * count
        self.count += count
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        if len(self.values) < MAX_VALUES_PER_SECOND:
            self.values.extend([value] * int(min(count, MAX_VALUES_PER_SECOND)))

    def add_statistics(self, total: float, count: float, minimum: float, maximum: float) -> None:
        self.sum += total
        self.count += count
        self.minimum = min(self.minimum, minimum)
        self.maximum = max(self.maximum, maximum)


@dataclass
class Series:
    unit: str = "None"
    seconds: dict[int, Second] = field(default_factory=dict)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of the raw values."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def check_statistic(stat: str, parameter: str = "Stat") -> None:
    if stat not in BASIC_STATISTICS and not PERCENTILE.match(stat):
        raise invalid(
            f"The value {stat} for parameter {parameter} is not valid: use one of "
            f"{', '.join(BASIC_STATISTICS)} or a percentile such as p50, p95, p99, p99.9."
        )


def statistic(points: list[Second], stat: str) -> float | None:
    check_statistic(stat)
    count = sum(p.count for p in points)
    if count == 0:
        return None
    if stat == "SampleCount":
        return count
    if stat == "Sum":
        return sum(p.sum for p in points)
    if stat == "Average":
        return sum(p.sum for p in points) / count
    if stat == "Minimum":
        return min(p.minimum for p in points)
    if stat == "Maximum":
        return max(p.maximum for p in points)
    match = PERCENTILE.match(stat)
    assert match is not None
    values = [v for p in points for v in p.values]
    return percentile(values, float(match.group(1))) if values else None


def _dimensions(raw: Iterable[Mapping[str, Any]] | None) -> Dimensions:
    dims = []
    for d in raw or ():
        if "Name" not in d or "Value" not in d:
            raise invalid("Each dimension needs Name and Value.")
        dims.append((str(d["Name"]), str(d["Value"])))
    return tuple(sorted(dims))


def _epoch(value: Any, name: str) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    raise invalid(f"The parameter {name} must be a timestamp.")


class MetricStore:
    """Thread-safe per-second metric store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[SeriesKey, Series] = {}
        self._last_prune = 0.0

    def reset(self) -> None:
        with self._lock:
            self._series.clear()

    # ------------------------------------------------------------------ writing

    def _second(self, key: SeriesKey, unit: str, ts: float) -> Second:
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = Series(unit=unit)
        second = int(ts)
        point = series.seconds.get(second)
        if point is None:
            point = series.seconds[second] = Second()
        return point

    def record(
        self,
        namespace: str,
        name: str,
        dimensions: Dimensions,
        value: float,
        unit: str = "Count",
        ts: float | None = None,
    ) -> None:
        now = time.time() if ts is None else ts
        with self._lock:
            self._second((namespace, name, dimensions), unit, now).add(value)
            self._maybe_prune(now)

    def record_many(
        self,
        namespace: str,
        dimensions: Dimensions,
        values: Mapping[str, tuple[float, str]],
        ts: float | None = None,
    ) -> None:
        """Several metrics of one resource at once (one lock round)."""
        now = time.time() if ts is None else ts
        with self._lock:
            for name, (value, unit) in values.items():
                self._second((namespace, name, dimensions), unit, now).add(value)
            self._maybe_prune(now)

    def _maybe_prune(self, now: float) -> None:
        if now - self._last_prune < 60:
            return
        self._last_prune = now
        horizon = int(now) - RETENTION_S
        for series in self._series.values():
            for second in [s for s in series.seconds if s < horizon]:
                del series.seconds[second]

    def put_metric_data(self, request: Mapping[str, Any], as_aws: bool = False) -> None:
        """PutMetricData; `as_aws` lets the local stack publish AWS/* metrics as AWS does."""
        namespace = request.get("Namespace")
        if not namespace:
            raise missing("Namespace")
        if namespace.startswith("AWS/") and not as_aws:
            raise invalid("The value AWS/ for parameter Namespace is not valid.")
        data = request.get("MetricData")
        if not data:
            raise missing("MetricData")
        now = time.time()
        with self._lock:
            for index, datum in enumerate(data, start=1):
                name = datum.get("MetricName")
                if not name:
                    raise missing(f"MetricData.member.{index}.MetricName")
                ts = _epoch(datum["Timestamp"], "Timestamp") if "Timestamp" in datum else now
                key = (namespace, name, _dimensions(datum.get("Dimensions")))
                unit = datum.get("Unit", "None")
                point = self._second(key, unit, ts)
                if "Value" in datum:
                    point.add(float(datum["Value"]))
                elif datum.get("Values"):
                    counts = datum.get("Counts") or [1.0] * len(datum["Values"])
                    if len(counts) != len(datum["Values"]):
                        raise invalid(
                            f"The parameters MetricData.member.{index}.Values and "
                            f"MetricData.member.{index}.Counts must be of the same size."
                        )
                    for value, count in zip(datum["Values"], counts, strict=True):
                        point.add(float(value), float(count))
                elif datum.get("StatisticValues"):
                    sv = datum["StatisticValues"]
                    for part in ("SampleCount", "Sum", "Minimum", "Maximum"):
                        if part not in sv:
                            raise missing(f"MetricData.member.{index}.StatisticValues.{part}")
                    point.add_statistics(
                        float(sv["Sum"]),
                        float(sv["SampleCount"]),
                        float(sv["Minimum"]),
                        float(sv["Maximum"]),
                    )
                else:
                    raise invalid(
                        f"The parameter MetricData.member.{index} must contain Value, "
                        "Values or StatisticValues."
                    )
            self._maybe_prune(now)

    # ------------------------------------------------------------------ reading

    def _points(self, key: SeriesKey, start: float, end: float) -> dict[int, Second]:
        series = self._series.get(key)
        if series is None:
            return {}
        lo, hi = math.floor(start), math.ceil(end)
        return {s: p for s, p in series.seconds.items() if lo <= s < hi}

    @staticmethod
    def _buckets(points: dict[int, Second], period: int) -> dict[int, list[Second]]:
        buckets: dict[int, list[Second]] = defaultdict(list)
        for second, point in points.items():
            buckets[second - second % period].append(point)
        return buckets

    def get_metric_data(self, request: Mapping[str, Any]) -> dict[str, Any]:
        queries = request.get("MetricDataQueries")
        if not queries:
            raise missing("MetricDataQueries")
        if len(queries) > MAX_QUERIES:
            raise invalid(
                f"The collection MetricDataQueries must not have more than {MAX_QUERIES} members."
            )
        if "StartTime" not in request:
            raise missing("StartTime")
        if "EndTime" not in request:
            raise missing("EndTime")
        start = _epoch(request["StartTime"], "StartTime")
        end = _epoch(request["EndTime"], "EndTime")
        if end <= start:
            raise invalid("The parameter StartTime must be less than the parameter EndTime.")
        ascending = request.get("ScanBy", "TimestampDescending") == "TimestampAscending"
        results = []
        with self._lock:
            for query in queries:
                query_id = query.get("Id")
                if not query_id:
                    raise missing("MetricDataQueries.member.Id")
                if "Expression" in query:
                    raise invalid(
                        f"Metric math expressions are not supported by the local gateway "
                        f"(query {query_id}); query each MetricStat and compute locally."
                    )
                stat_spec = query.get("MetricStat")
                if not stat_spec:
                    raise invalid(f"The query {query_id} must contain MetricStat.")
                metric = stat_spec.get("Metric") or {}
                if not metric.get("Namespace") or not metric.get("MetricName"):
                    raise missing(f"MetricDataQueries.{query_id}.MetricStat.Metric.MetricName")
                period = int(stat_spec.get("Period") or 0)
                if period < 1:
                    raise invalid(
                        f"The parameter MetricDataQueries.{query_id}.MetricStat.Period must be "
                        "1 or greater (1, 5, 10, 30, 60 or a multiple of 60)."
                    )
                stat = stat_spec.get("Stat")
                if not stat:
                    raise missing(f"MetricDataQueries.{query_id}.MetricStat.Stat")
                check_statistic(stat)
                key = (
                    metric["Namespace"],
                    metric["MetricName"],
                    _dimensions(metric.get("Dimensions")),
                )
                buckets = self._buckets(self._points(key, start, end), period)
                timestamps, values = [], []
                for bucket_start in sorted(buckets, reverse=not ascending):
                    value = statistic(buckets[bucket_start], stat)
                    if value is not None:
                        timestamps.append(datetime.fromtimestamp(bucket_start, UTC))
                        values.append(value)
                if query.get("ReturnData", True):
                    results.append(
                        {
                            "Id": query_id,
                            "Label": query.get("Label") or metric["MetricName"],
                            "Timestamps": timestamps,
                            "Values": values,
                            "StatusCode": "Complete",
                        }
                    )
        return {"MetricDataResults": results, "Messages": []}

    def get_metric_statistics(self, request: Mapping[str, Any]) -> dict[str, Any]:
        for name in ("Namespace", "MetricName", "StartTime", "EndTime", "Period"):
            if name not in request:
                raise missing(name)
        stats = list(request.get("Statistics") or [])
        extended = list(request.get("ExtendedStatistics") or [])
        if not stats and not extended:
            raise invalid("Either Statistics or ExtendedStatistics must be specified.")
        for stat in stats:
            if stat not in BASIC_STATISTICS:
                raise invalid(
                    f"The value {stat} for parameter Statistics is not valid: use "
                    f"{', '.join(BASIC_STATISTICS)}."
                )
        for stat in extended:
            check_statistic(stat, "ExtendedStatistics")
        period = int(request["Period"])
        if period < 1:
            raise invalid("The parameter Period must be 1 or greater.")
        key = (request["Namespace"], request["MetricName"], _dimensions(request.get("Dimensions")))
        start = _epoch(request["StartTime"], "StartTime")
        end = _epoch(request["EndTime"], "EndTime")
        with self._lock:
            unit = self._series[key].unit if key in self._series else "None"
            buckets = self._buckets(self._points(key, start, end), period)
            datapoints = []
            for bucket_start in sorted(buckets):
                point: dict[str, Any] = {
                    "Timestamp": datetime.fromtimestamp(bucket_start, UTC),
                    "Unit": request.get("Unit", unit),
                }
                for stat in stats:
                    point[stat] = statistic(buckets[bucket_start], stat)
                if extended:
                    point["ExtendedStatistics"] = {
                        stat: statistic(buckets[bucket_start], stat) for stat in extended
                    }
                datapoints.append(point)
        return {"Label": request["MetricName"], "Datapoints": datapoints}

    def list_metrics(self, request: Mapping[str, Any]) -> dict[str, Any]:
        namespace = request.get("Namespace")
        name = request.get("MetricName")
        wanted = request.get("Dimensions") or []
        metrics = []
        with self._lock:
            keys = list(self._series)
        for ns, metric_name, dims in sorted(keys):
            if (namespace and ns != namespace) or (name and metric_name != name):
                continue
            present = dict(dims)
            if any(
                d.get("Name") not in present or ("Value" in d and present[d["Name"]] != d["Value"])
                for d in wanted
            ):
                continue
            metrics.append(
                {
                    "Namespace": ns,
                    "MetricName": metric_name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
                }
            )
        return {"Metrics": metrics}

    def handle(self, operation: str, request: Mapping[str, Any]) -> dict[str, Any]:
        if operation == "PutMetricData":
            self.put_metric_data(request)
            return {}
        if operation == "GetMetricData":
            return self.get_metric_data(request)
        if operation == "GetMetricStatistics":
            return self.get_metric_statistics(request)
        if operation == "ListMetrics":
            return self.list_metrics(request)
        raise AwsError(
            "UnknownOperationException",
            f"CloudWatch operation {operation} is not supported by the local gateway "
            "(supported: PutMetricData, GetMetricData, GetMetricStatistics, ListMetrics).",
        )
