"""On AWS, is CloudWatch data still arriving? A run judged from metrics that stopped coming is
judged from nothing, so it is a broken run (exit 3), never a quiet one.

Kinesis and DynamoDB publish the metrics we read at one-minute periods (Kinesis: "Basic
(stream-level) data is sent automatically every minute"; DynamoDB: "CloudWatch aggregates these
metrics at one-minute intervals"), and a datapoint reaches GetMetricData a little after its
minute ends. AWS documents no bound on that delay: ours is ARRIVAL_DELAY_S, five periods.
While records are being accepted, a stream or table whose newest datapoint is older than that
has stopped reporting (metrics off, a wrong name, a region mismatch, an outage), and the run
stops naming which.
https://docs.aws.amazon.com/streams/latest/dev/monitoring-with-cloudwatch.html
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loadtests.cloudwatch import client
from loadtests.health import TargetUnhealthy
from loadtests.runconfig import Endpoints
from pipeline import metrics as m

PERIOD_S = 60  # AWS's own metrics: one-minute datapoints
ARRIVAL_DELAY_S = 5 * PERIOD_S  # a datapoint older than this while load flows: not arriving
CHECK_EVERY_S = PERIOD_S  # one GetMetricData call a minute, not one per health check


@dataclass(frozen=True)
class WatchedMetric:
    part: str  # as the error names it: "the stream redline-dev"
    metric: m.Metric
    dimension_value: str


def watched(endpoints: Endpoints) -> list[WatchedMetric]:
    """The stream's accepted records and the table's consumed writes: both move with load."""
    incoming = m.by_name("IncomingRecords", "AWS/Kinesis")
    consumed = m.by_name("ConsumedWriteCapacityUnits", "AWS/DynamoDB")
    return [
        WatchedMetric(f"the stream {endpoints.stream_name}", incoming, endpoints.stream_name),
        WatchedMetric(f"the table {endpoints.table_name}", consumed, endpoints.table_name),
    ]


class CloudWatchArrival:
    """Raises TargetUnhealthy when a watched metric's newest datapoint is older than the
    normal delay, once load has been flowing for longer than that delay."""

    def __init__(
        self,
        cloudwatch: Any,
        metrics: list[WatchedMetric],
        clock: Callable[[], float] = time.time,
        delay_s: float = ARRIVAL_DELAY_S,
        every_s: float = CHECK_EVERY_S,
    ) -> None:
        self.cloudwatch = cloudwatch
        self.metrics = metrics
        self.clock = clock
        self.delay_s = delay_s
        self.every_s = every_s
        self.load_since: float | None = None
        self._checked_at: float | None = None

    def load_flowing(self, flowing: bool) -> None:
        """Told by the controller: records are (or are no longer) being accepted."""
        if not flowing:
            self.load_since = None
        elif self.load_since is None:
            self.load_since = self.clock()

    def check(self) -> None:
        now = self.clock()
        if self.load_since is None or now - self.load_since < self.delay_s:
            return  # nothing is due to have arrived yet
        if self._checked_at is not None and now - self._checked_at < self.every_s:
            return
        self._checked_at = now
        newest = self._newest_datapoints(now)
        for item in self.metrics:
            at = newest.get(item.metric.name)
            age = now - at if at is not None else None
            if age is None or age > self.delay_s:
                seen = (
                    f"its newest datapoint is {age:.0f} s old"
                    if age is not None
                    else f"it has no datapoint in the last {2 * self.delay_s:.0f} s"
                )
                raise TargetUnhealthy(
                    f"CloudWatch data for {item.part} stopped arriving:"
                    f" {item.metric.namespace} {item.metric.name}"
                    f" ({item.metric.dimensions[0]}={item.dimension_value}): {seen}, while"
                    f" records were accepted for {now - self.load_since:.0f} s (normal delay at"
                    f" most {self.delay_s:.0f} s); check its metrics in the CloudWatch console"
                )

    def _newest_datapoints(self, now: float) -> dict[str, float | None]:
        start = dt.datetime.fromtimestamp(now - 2 * self.delay_s, dt.UTC)
        end = dt.datetime.fromtimestamp(now, dt.UTC)
        queries = [
            {
                "Id": f"m{index}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": item.metric.namespace,
                        "MetricName": item.metric.name,
                        "Dimensions": [
                            {"Name": item.metric.dimensions[0], "Value": item.dimension_value}
                        ],
                    },
                    "Period": PERIOD_S,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            }
            for index, item in enumerate(self.metrics)
        ]
        answer = self.cloudwatch.get_metric_data(
            MetricDataQueries=queries, StartTime=start, EndTime=end
        )
        by_id = {r["Id"]: r.get("Timestamps") or [] for r in answer.get("MetricDataResults", [])}
        return {
            item.metric.name: max((t.timestamp() for t in by_id.get(f"m{index}", [])), default=None)
            for index, item in enumerate(self.metrics)
        }


def for_target(target: str, endpoints: Endpoints) -> CloudWatchArrival | None:
    """The check for a run on AWS; the local stack's health routes cover its own metrics."""
    if target != "aws":
        return None
    return CloudWatchArrival(client(endpoints), watched(endpoints))
