"""Metrics the runtime publishes to the local CloudWatch, as AWS would.

Lambda and API Gateway publish their own metrics (AWS/Lambda, AWS/ApiGateway); CloudWatch Logs
turns the embedded metric format (EMF) lines a handler prints into metrics. Here both end up in
one `MetricsPublisher`, which aggregates per second (the local stack's period is 1 s) and sends
PutMetricData calls to the gateway from a background thread.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger(__name__)

# PutMetricData takes at most 150 values per datum and 1,000 data per call.
MAX_VALUES_PER_DATUM = 150
MAX_DATA_PER_CALL = 1000
FAILURE_LOG_EVERY = 60

Dimensions = tuple[tuple[str, str], ...]


@dataclass
class _Series:
    unit: str
    kind: str  # "sum" (counts), "max" (gauges such as ConcurrentExecutions), "values"
    total: float = 0.0
    maximum: float = float("-inf")
    values: dict[float, int] = field(default_factory=lambda: defaultdict(int))


def _key(namespace: str, name: str, dimensions: dict[str, str]) -> tuple[str, str, Dimensions]:
    return namespace, name, tuple(sorted(dimensions.items()))


class MetricsPublisher:
    """Aggregates data points per second and flushes them to CloudWatch in the background."""

    def __init__(self, put_metric_data: Callable[..., Any], flush_interval_s: float = 1.0) -> None:
        self._put = put_metric_data
        self._interval = flush_interval_s
        self._lock = threading.Lock()
        self._pending: dict[int, dict[tuple[str, str, Dimensions], _Series]] = defaultdict(dict)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0

    # ------------------------------------------------------------------ recording
    def _series(self, second: int, key, unit: str, kind: str) -> _Series:
        bucket = self._pending[second]
        series = bucket.get(key)
        if series is None:
            series = bucket[key] = _Series(unit=unit, kind=kind)
        return series

    def count(
        self,
        namespace: str,
        name: str,
        dimensions: dict[str, str],
        value: float = 1.0,
        unit: str = "Count",
        at: float | None = None,
    ) -> None:
        second = int(at if at is not None else time.time())
        with self._lock:
            self._series(second, _key(namespace, name, dimensions), unit, "sum").total += value

    def gauge_max(
        self,
        namespace: str,
        name: str,
        dimensions: dict[str, str],
        value: float,
        unit: str = "Count",
        at: float | None = None,
    ) -> None:
        second = int(at if at is not None else time.time())
        with self._lock:
            series = self._series(second, _key(namespace, name, dimensions), unit, "max")
            series.maximum = max(series.maximum, value)

    def observe(
        self,
        namespace: str,
        name: str,
        dimensions: dict[str, str],
        value: float,
        unit: str = "Milliseconds",
        at: float | None = None,
    ) -> None:
        """A sample of a distribution (latency, duration): percentiles stay computable."""
        second = int(at if at is not None else time.time())
        rounded = round(float(value), 1)
        with self._lock:
            self._series(second, _key(namespace, name, dimensions), unit, "values").values[
                rounded
            ] += 1

    def record_emf(self, line: str) -> bool:
        """Turn one EMF log line into data points (as CloudWatch Logs does); False if not EMF."""
        for namespace, name, dimensions, unit, values, at in parse_emf(line):
            for value in values:
                self.observe(namespace, name, dimensions, value, unit=unit, at=at)
        return '"_aws"' in line

    # ------------------------------------------------------------------ flushing
    def drain(self, everything: bool = False) -> list[dict[str, Any]]:
        """Data of finished seconds (or all, at shutdown) as PutMetricData entries by namespace."""
        now = int(time.time())
        with self._lock:
            seconds = [s for s in self._pending if everything or s < now]
            taken = {s: self._pending.pop(s) for s in seconds}
        return build_metric_data(taken)

    def flush(self, everything: bool = False) -> None:
        for call in self.drain(everything):
            try:
                self._put(**call)
            except Exception as exc:  # the gateway may be restarting; a lost second is logged
                self.failures += 1
                if self.failures % FAILURE_LOG_EVERY == 1:  # not once a second while it is down
                    logger.warning(
                        "PutMetricData to the local CloudWatch failed (%d failures so far): %s",
                        self.failures,
                        exc,
                    )

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="metrics-publisher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush(everything=True)


def build_metric_data(
    pending: dict[int, dict[tuple[str, str, Dimensions], _Series]],
) -> list[dict[str, Any]]:
    by_namespace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for second, bucket in sorted(pending.items()):
        timestamp = datetime.fromtimestamp(second, tz=UTC)
        for (namespace, name, dimensions), series in bucket.items():
            base = {
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions],
                "Timestamp": timestamp,
                "Unit": series.unit,
            }
            if series.kind == "sum":
                by_namespace[namespace].append({**base, "Value": series.total})
            elif series.kind == "max":
                by_namespace[namespace].append({**base, "Value": series.maximum})
            else:
                items = sorted(series.values.items())
                for start in range(0, len(items), MAX_VALUES_PER_DATUM):
                    chunk = items[start : start + MAX_VALUES_PER_DATUM]
                    by_namespace[namespace].append(
                        {
                            **base,
                            "Values": [v for v, _ in chunk],
                            "Counts": [float(c) for _, c in chunk],
                        }
                    )
    calls = []
    for namespace, data in by_namespace.items():
        for start in range(0, len(data), MAX_DATA_PER_CALL):
            calls.append(
                {"Namespace": namespace, "MetricData": data[start : start + MAX_DATA_PER_CALL]}
            )
    return calls


def parse_emf(line: str) -> Iterable[tuple[str, str, dict[str, str], str, list[float], float]]:
    """Yield (namespace, name, dimensions, unit, values, epoch seconds) from one EMF line.

    The embedded metric format: a JSON object with `_aws.CloudWatchMetrics` (namespace, dimension
    sets, metric definitions) and the values as top-level members (a number or a list of them).
    Anything that is not valid EMF yields nothing, as CloudWatch Logs keeps it as a plain log line.
    """
    text = line.strip()
    if not text.startswith("{") or '"_aws"' not in text:
        return
    try:
        document = json.loads(text)
        meta = document["_aws"]
        at = float(meta.get("Timestamp", time.time() * 1000)) / 1000
        directives = meta["CloudWatchMetrics"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return
    if not isinstance(directives, list):
        return
    for directive in directives:
        if not isinstance(directive, dict):
            continue
        namespace = directive.get("Namespace")
        if not isinstance(namespace, str):
            continue
        dimension_sets = directive.get("Dimensions") or [[]]
        for definition in directive.get("Metrics", []):
            name = definition.get("Name") if isinstance(definition, dict) else None
            raw = document.get(name) if name else None
            values = raw if isinstance(raw, list) else [raw]
            numbers = [float(v) for v in values if isinstance(v, int | float)]
            if not numbers:
                continue
            unit = definition.get("Unit", "None")
            for dimension_set in dimension_sets:
                dimensions = {d: str(document[d]) for d in dimension_set if d in document}
                yield namespace, name, dimensions, unit, numbers, at
