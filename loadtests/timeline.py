"""Per-second counters and latency histograms per request type, mergeable across processes.

Each process records into its own Timeline; workers ship `drain()` deltas to the master in
Locust's `report_to_master` and the master `merge()`s them (`worker_report`), so percentiles
come from merged HdrHistograms, never from averaged percentiles.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from reports.runfolder import API_GET_EVENT, API_QUERY, E2E_PROBE, PUT_RECORDS

# Request types (timeline.csv `request_type`), named in the run folder contract.
REQUEST_TYPES = (PUT_RECORDS, API_GET_EVENT, API_QUERY, E2E_PROBE)

LOWEST_MS, HIGHEST_MS, SIGNIFICANT_DIGITS = 1, 3_600_000, 2
COUNTERS = (
    "calls",
    "offered",
    "accepted",
    "throttled",
    "errors",
    "retries",
    "offered_bytes",
    "accepted_bytes",
    "late",
    "failures",  # records refused by errors other than throttling (5xx, no answer, 4xx)
)


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_MS, HIGHEST_MS, SIGNIFICANT_DIGITS)


def record_ms(histogram: HdrHistogram, value_ms: float) -> None:
    histogram.record_value(min(max(round(value_ms), LOWEST_MS), HIGHEST_MS))


@dataclass
class Bucket:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    histogram: HdrHistogram = field(default_factory=new_histogram)

    def add(self, other: Bucket) -> None:
        for key, value in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + value
        self.histogram.add(other.histogram)


@dataclass
class WindowStats:
    """Sums over a window of seconds for a set of request types."""

    seconds: float
    counts: dict[str, int]
    histogram: HdrHistogram

    def rate(self, counter: str) -> float:
        return self.counts.get(counter, 0) / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, p: float) -> float:
        return float(self.histogram.get_value_at_percentile(p)) if self.samples else 0.0

    @property
    def samples(self) -> int:
        return self.histogram.get_total_count()

    @property
    def max_ms(self) -> float:
        return float(self.histogram.get_max_value()) if self.samples else 0.0


class Timeline:
    def __init__(self, ship: bool = False) -> None:
        self.buckets: dict[tuple[int, str], Bucket] = {}
        self._unsent: dict[tuple[int, str], Bucket] = {}
        self.ship = ship  # a worker only keeps what it has not shipped to the master yet

    def record(
        self,
        request_type: str,
        intended_at: float,
        latency_ms: float | None = None,
        **counts: int,
    ) -> None:
        """Count one call in the second of its intended start; latency from that start."""
        key = (int(intended_at), request_type)
        for target in (self._unsent,) if self.ship else (self.buckets,):
            bucket = target.get(key)
            if bucket is None:
                bucket = target[key] = Bucket()
            for name, value in counts.items():
                bucket.counts[name] += value
            if latency_ms is not None:
                record_ms(bucket.histogram, latency_ms)

    def drain(self) -> list[dict]:
        """What was recorded since the last drain, as plain data a message can carry."""
        delta = [
            {
                "second": second,
                "type": request_type,
                "counts": bucket.counts,
                "histogram": base64.b64encode(bucket.histogram.encode()).decode("ascii")
                if bucket.histogram.get_total_count()
                else "",
            }
            for (second, request_type), bucket in self._unsent.items()
        ]
        self._unsent = {}
        return delta

    def merge(self, delta: Iterable[dict]) -> None:
        for entry in delta:
            key = (int(entry["second"]), entry["type"])
            incoming = Bucket(counts={**dict.fromkeys(COUNTERS, 0), **entry["counts"]})
            if entry["histogram"]:
                incoming.histogram = HdrHistogram.decode(base64.b64decode(entry["histogram"]))
            bucket = self.buckets.get(key)
            if bucket is None:
                self.buckets[key] = incoming
            else:
                bucket.add(incoming)

    def window(self, request_types: Iterable[str], start: float, end: float) -> WindowStats:
        """Sums over the whole seconds in [start, end) for the given types."""
        types = set(request_types)
        first, last = int(start), int(end)
        counts = dict.fromkeys(COUNTERS, 0)
        histogram = new_histogram()
        for (second, request_type), bucket in self.buckets.items():
            if request_type in types and first <= second < last:
                for name, value in bucket.counts.items():
                    counts[name] = counts.get(name, 0) + value
                histogram.add(bucket.histogram)
        return WindowStats(seconds=max(last - first, 0), counts=counts, histogram=histogram)

    def second_means(
        self, request_type: str, start: float, end: float
    ) -> list[tuple[int, float, int]]:
        """(second, mean latency ms, samples) for each second in [start, end) with samples."""
        first, last = int(start), int(end)
        return sorted(
            (second, bucket.histogram.get_mean_value(), bucket.histogram.get_total_count())
            for (second, kind), bucket in self.buckets.items()
            if kind == request_type
            and first <= second < last
            and bucket.histogram.get_total_count()
        )

    def seconds(self) -> list[int]:
        return sorted({second for second, _ in self.buckets})

    def types(self) -> list[str]:
        present = {request_type for _, request_type in self.buckets}
        return [t for t in REQUEST_TYPES if t in present] + sorted(present - set(REQUEST_TYPES))
