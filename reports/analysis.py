"""From a run folder to the facts of the report: per-second load, knee, first bottleneck,
utilization of each limit over time, and the workload profile that sizing scales up."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline import aws_limits as limits
from pipeline import metrics as m
from pipeline.config import BillingMode, StreamMode
from reports import knee as knees
from reports import model, shards
from reports import runfolder as rf
from reports.reader import Run, Series

# Stated assumptions, used only when the run folder has no measurement to replace them.
ITEM_OVERHEAD_BYTES = 120  # arrived_at, stored_at, sequence_number added to each event
QUERY_PAGE_ITEMS = 25  # items a GET /events?type= page reads when nothing was measured
DEFAULT_INGEST_MS_PER_RECORD = 1.0
DEFAULT_API_MS = 20.0

_KINESIS, _DYNAMODB, _LAMBDA = "AWS/Kinesis", "AWS/DynamoDB", "AWS/Lambda"
_M = m.by_name  # names come from pipeline.metrics, never spelled twice
WRITE_EXCEEDED = _M("WriteProvisionedThroughputExceeded", _KINESIS).name
THROTTLED_RECORDS = _M("PutRecords.ThrottledRecords", _KINESIS).name
INCOMING_RECORDS = _M("IncomingRecords", _KINESIS).name
INCOMING_BYTES = _M("IncomingBytes", _KINESIS).name
STREAM_ITERATOR_AGE = _M("GetRecords.IteratorAgeMilliseconds", _KINESIS).name
WRITE_THROTTLES = _M("WriteThrottleEvents", _DYNAMODB).name
READ_THROTTLES = _M("ReadThrottleEvents", _DYNAMODB).name
CONSUMED_WCU = _M("ConsumedWriteCapacityUnits", _DYNAMODB).name
CONSUMED_RCU = _M("ConsumedReadCapacityUnits", _DYNAMODB).name
LAMBDA_THROTTLES = _M("Throttles", _LAMBDA).name
CONCURRENT = _M("ConcurrentExecutions", _LAMBDA).name
INVOCATIONS = _M("Invocations", _LAMBDA).name
DURATION = _M("Duration", _LAMBDA).name
LAMBDA_ITERATOR_AGE = _M("IteratorAge", _LAMBDA).name
RECORDS_STORED = m.RECORDS_STORED.name
API_RESOURCES = ("API rate limit", "Lambda API concurrency")


@dataclass
class PerSecond:
    """One request family summed per second of the run (elapsed seconds from the start)."""

    elapsed: np.ndarray
    target: np.ndarray
    offered: np.ndarray
    accepted: np.ndarray
    throttled: np.ndarray
    errors: np.ndarray
    offered_bytes: np.ndarray
    p50: np.ndarray
    p95: np.ndarray
    p99: np.ndarray

    @property
    def total_offered(self) -> float:
        return float(np.nansum(self.offered))


@dataclass
class Bottleneck:
    resource: str
    metric: str
    first_at: float  # epoch seconds
    first_elapsed_s: float
    value: float  # throttled count over the run
    evidence: str

    def to_dict(self) -> dict:
        return {
            "resource": self.resource,
            "metric": self.metric,
            "first_at": self.first_at,
            "first_elapsed_s": self.first_elapsed_s,
            "value": self.value,
            "evidence": self.evidence,
        }


@dataclass
class Workload:
    """What one record and one read cost, measured where the run folder allows."""

    record_bytes: float
    item_bytes: int
    write_units_per_record: float
    write_units_source: str
    reads_per_record: float  # API requests per ingested record (0: ingest only)
    read_rate: float  # API requests/s at the knee's load
    read_units_per_request: float
    read_units_source: str
    query_share: float  # share of API requests that are queries (GSI reads)
    ingest_ms_per_record: float
    ingest_duration_source: str
    api_ms: float
    api_duration_source: str
    hot_key_share: float
    key_strategy: str
    api_concurrency_per_rps: float = 0.0  # measured peak in flight per request/s (0: none)


@dataclass
class Analysis:
    start: float  # epoch seconds of the first timeline second
    ingest: PerSecond | None
    api: PerSecond | None
    levels: list[knees.Level]
    knee: knees.Knee
    bottleneck: Bottleneck | None
    utilization: dict[str, tuple[np.ndarray, np.ndarray]]  # limit -> (elapsed, share)
    iterator_age: tuple[np.ndarray, np.ndarray] | None
    workload: Workload
    duration_s: float

    @property
    def primary(self) -> PerSecond:
        return self.ingest if self.ingest is not None else self.api  # type: ignore[return-value]


def iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _per_second(run: Run, types: tuple[str, ...], start: float) -> PerSecond | None:
    timeline = run.timeline_frame  # load_run's frame: one parse for the report and notebooks
    picked = timeline[timeline["request_type"].isin(types)]
    if picked.empty:
        return None
    by_second = picked.groupby("timestamp", sort=True)
    # every second from the first to the last: a second without a row sent nothing
    seconds = np.arange(int(picked["timestamp"].min()), int(picked["timestamp"].max()) + 1)
    totals = by_second[list(_TOTALLED)].sum().reindex(seconds, fill_value=0.0)
    # across request types of one second, the slowest percentile (never an average)
    worst = by_second[list(_WORST)].max().reindex(seconds)

    def column(frame: Any, name: str) -> np.ndarray:
        return frame[name].to_numpy(dtype=float)

    return PerSecond(
        elapsed=seconds - start,
        target=column(totals, "target_rate"),
        offered=column(totals, "offered"),
        accepted=column(totals, "accepted"),
        throttled=column(totals, "throttled"),
        errors=column(totals, "errors"),
        offered_bytes=column(totals, "offered_bytes"),
        p50=column(worst, "latency_p50_ms"),
        p95=column(worst, "latency_p95_ms"),
        p99=column(worst, "latency_p99_ms"),
    )


_TOTALLED = ("target_rate", "offered", "accepted", "throttled", "errors", "offered_bytes")
_WORST = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms")


def _function_dimension(run: Run, kind: str) -> str:
    endpoints = run.info.get("endpoints") or {}
    name = endpoints.get(f"{kind}_function") or f"redline-{kind}-{run.environment.environment}"
    return f"FunctionName={name}"


def _series_sum(series: Series | None) -> float:
    return float(np.nansum(series.values)) if series is not None else 0.0


def _dense(series: Series) -> Series:
    """The series on every period from its first to its last: a period CloudWatch left out
    had no data points, which for counts and concurrency means 0 (not a line drawn across)."""
    if series.timestamps.size < 2:
        return series
    period = series.period_s or 1.0
    first = series.timestamps[0]
    slots = np.round((series.timestamps - first) / period).astype(np.int64)
    values = np.zeros(int(slots[-1]) + 1)
    values[slots] = series.values
    return Series(first + np.arange(values.size) * period, values, period)


def _rate_series(series: Series, start: float) -> tuple[np.ndarray, np.ndarray]:
    """A Sum per period as a per-second rate, at the start of each period."""
    series = _dense(series)
    return series.timestamps - start, series.values / series.period_s


def utilization(run: Run, start: float, ingest: PerSecond | None, api: PerSecond | None):
    env = run.environment
    result: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    shards = env.stream.shard_count
    records = run.metric(_KINESIS, INCOMING_RECORDS, "Sum")
    volume = run.metric(_KINESIS, INCOMING_BYTES, "Sum")
    if env.stream.mode == StreamMode.PROVISIONED:
        if records is not None:
            t, rate = _rate_series(records, start)
            share = rate / (shards * limits.KINESIS_SHARD_WRITE_RECORDS_PER_S)
            volume = _dense(volume) if volume is not None else None
            if volume is not None and volume.values.size == share.size:
                share = np.maximum(
                    share,
                    volume.values
                    / volume.period_s
                    / (shards * limits.KINESIS_SHARD_WRITE_BYTES_PER_S),
                )
            result["Kinesis shard writes"] = (t, share)
        elif ingest is not None:
            result["Kinesis shard writes"] = (
                ingest.elapsed,
                np.maximum(
                    ingest.accepted / (shards * limits.KINESIS_SHARD_WRITE_RECORDS_PER_S),
                    ingest.offered_bytes
                    * np.divide(
                        ingest.accepted,
                        ingest.offered,
                        out=np.zeros_like(ingest.offered),
                        where=ingest.offered > 0,
                    )
                    / (shards * limits.KINESIS_SHARD_WRITE_BYTES_PER_S),
                ),
            )
    table = env.table
    if table.billing_mode == BillingMode.PROVISIONED:
        for label, metric, provisioned in (
            ("DynamoDB table WCU", CONSUMED_WCU, table.write_capacity),
            ("DynamoDB table RCU", CONSUMED_RCU, table.read_capacity),
        ):
            series = run.metric(_DYNAMODB, metric, "Sum")
            if series is not None and np.nansum(series.values) > 0:
                t, rate = _rate_series(series, start)
                result[label] = (t, rate / provisioned)
    ingest_cap = model.stream_concurrency(shards, env.ingest.parallelization_factor)
    if env.ingest.reserved_concurrency >= 0:
        ingest_cap = min(ingest_cap, env.ingest.reserved_concurrency)
    concurrent = run.metric(_LAMBDA, CONCURRENT, "Maximum", _function_dimension(run, "ingest"))
    if concurrent is not None and ingest_cap > 0:
        concurrent = _dense(concurrent)
        result["Lambda ingest concurrency"] = (
            concurrent.timestamps - start,
            concurrent.values / ingest_cap,
        )
    api_concurrent = run.metric(_LAMBDA, CONCURRENT, "Maximum", _function_dimension(run, "api"))
    api_cap = env.api.reserved_concurrency
    if api_cap < 0:
        api_cap = limits.LAMBDA_ACCOUNT_CONCURRENCY
    if api_concurrent is not None and api_cap > 0:
        api_concurrent = _dense(api_concurrent)
        result["Lambda API concurrency"] = (
            api_concurrent.timestamps - start,
            api_concurrent.values / api_cap,
        )
    if api is not None and api.total_offered > 0:
        result["API rate limit"] = (api.elapsed, api.offered / env.api.throttling_rate_limit)
    return result


def iterator_age(run: Run, start: float) -> tuple[np.ndarray, np.ndarray] | None:
    series = run.metric(
        _LAMBDA, LAMBDA_ITERATOR_AGE, "Maximum", _function_dimension(run, "ingest")
    ) or run.metric(_KINESIS, STREAM_ITERATOR_AGE, "Maximum")
    if series is None:
        return None
    return series.timestamps - start, series.values


def _first_hit(series: Series | None) -> tuple[float, float] | None:
    if series is None:
        return None
    hits = np.nonzero(series.values > 0)[0]
    if hits.size == 0:
        return None
    return float(series.timestamps[hits[0]]), float(np.nansum(series.values))


def _rate_at(per_second: PerSecond | None, start: float, epoch: float) -> float | None:
    if per_second is None:
        return None
    index = np.searchsorted(per_second.elapsed, epoch - start)
    window = per_second.offered[max(index - 2, 0) : index + 1]
    return float(window.max()) if window.size else None


def _utilization_at(
    utilization_series: dict[str, tuple[np.ndarray, np.ndarray]], label: str, elapsed: float
) -> float | None:
    if label not in utilization_series:
        return None
    t, share = utilization_series[label]
    index = np.searchsorted(t, elapsed)
    window = share[max(index - 2, 0) : index + 1]
    return float(np.nanmax(window)) if window.size and np.isfinite(window).any() else None


def find_bottleneck(
    run: Run,
    start: float,
    ingest: PerSecond | None,
    api: PerSecond | None,
    utilization_series: dict[str, tuple[np.ndarray, np.ndarray]],
    workload_hot_share: float,
) -> Bottleneck | None:
    """The resource that throttled first, in time (a tie goes to the one nearest the producer)."""
    ingest_fn, api_fn = _function_dimension(run, "ingest"), _function_dimension(run, "api")
    candidates: list[tuple[float, int, str, str, float, str | None]] = []
    signals = (
        ("Kinesis shard writes", _KINESIS, WRITE_EXCEEDED, None, "Kinesis shard writes"),
        ("Kinesis shard writes", _KINESIS, THROTTLED_RECORDS, None, "Kinesis shard writes"),
        (
            "Lambda ingest concurrency",
            _LAMBDA,
            LAMBDA_THROTTLES,
            ingest_fn,
            "Lambda ingest concurrency",
        ),
        ("DynamoDB table writes", _DYNAMODB, WRITE_THROTTLES, None, "DynamoDB table WCU"),
        ("DynamoDB table reads", _DYNAMODB, READ_THROTTLES, None, "DynamoDB table RCU"),
        ("Lambda API concurrency", _LAMBDA, LAMBDA_THROTTLES, api_fn, "Lambda API concurrency"),
    )
    seen: set[str] = set()
    if (run.info.get("options") or {}).get("mix") == "ingest":
        # Only the end-to-end probes call the API function in an ingest run: its throttles
        # are the measurement's, not the pipeline's (the load test ignores them too).
        seen.add("Lambda API concurrency")
    for order, (resource, namespace, metric, dimension, util_label) in enumerate(signals):
        if resource in seen:
            continue
        hit = _first_hit(run.metric(namespace, metric, "Sum", dimension))
        if hit:
            seen.add(resource)
            candidates.append(
                (hit[0], order, resource, f"{namespace} {metric}", hit[1], util_label)
            )
    for order, (resource, per_second, metric, util_label) in enumerate(
        (
            (
                "Kinesis shard writes",
                ingest,
                "producer PutRecords throttled",
                "Kinesis shard writes",
            ),
            ("API rate limit", api, "API 429 answers", "API rate limit"),
        ),
        start=len(signals),
    ):
        if resource in seen or per_second is None:
            continue
        hits = np.nonzero(per_second.throttled > 0)[0]
        if hits.size:
            seen.add(resource)
            first = float(per_second.elapsed[hits[0]] + start)
            total = float(per_second.throttled.sum())
            candidates.append((first, order, resource, metric, total, util_label))
    if not candidates:
        return None
    first_at, _order, resource, metric, total, util_label = min(candidates)
    elapsed = first_at - start
    family = api if resource in API_RESOURCES else ingest
    rate = _rate_at(family, start, first_at)
    used = _utilization_at(utilization_series, util_label, elapsed) if util_label else None
    parts = [f"{metric}: {total:,.0f} in the run, first at {iso(first_at)} (+{elapsed:.0f} s)"]
    if rate is not None:
        unit = "requests/s" if resource in API_RESOURCES else "records/s"
        parts.append(f"offered {rate:,.0f} {unit} then")
    if used is not None:
        parts.append(f"{util_label} at {used:.0%} of its limit")
    hot = shards.hot_shard_of_run(run.path) if resource == "Kinesis shard writes" else None
    if hot is not None:  # observed: what each shard took and refused
        resource = "Kinesis hot partition key"
        parts.append(hot.evidence())
    elif (
        resource == "Kinesis shard writes"
        and workload_hot_share > 0
        and used is not None
        and used < 0.9
        and not (run.path / rf.KINESIS_SHARDS_CSV).is_file()
    ):  # an older run folder without shard-level metrics: the configured key mix
        resource = "Kinesis hot partition key"
        parts.append(
            f"the stream was below its limit: one key carries {workload_hot_share:.0%}"
            " of the records and its shard throttled (from the configured key mix: this run"
            " has no shard-level metrics)"
        )
    return Bottleneck(resource, metric, first_at, elapsed, total, "; ".join(parts))


def _hot_share(options: dict) -> float:
    strategy = options.get("key_strategy", "uniform")
    if strategy == "hot":
        return float(options.get("hot_key_share", 0.0))
    if strategy == "zipf":
        return model.zipf_top_share(int(options.get("key_count", 1000)), float(options["zipf_s"]))
    return 0.0


def _mean_over(series: Series | None) -> float | None:
    if series is None:
        return None
    finite = series.values[np.isfinite(series.values) & (series.values > 0)]
    return float(finite.mean()) if finite.size else None


def _concurrency_per_rps(run: Run, dimension: str, rate: float) -> float:
    """Peak concurrent executions per request/s (a floor when the function was throttled)."""
    series = run.metric(_LAMBDA, CONCURRENT, "Maximum", dimension)
    if series is None or rate <= 0 or not np.isfinite(series.values).any():
        return 0.0
    return float(np.nanmax(series.values)) / rate


def workload(run: Run, ingest: PerSecond | None, api: PerSecond | None) -> Workload:
    options = run.info.get("options") or {}
    offered = ingest.total_offered if ingest else 0.0
    if ingest is not None and offered > 0 and np.nansum(ingest.offered_bytes) > 0:
        record_bytes = float(np.nansum(ingest.offered_bytes)) / offered
    else:
        record_bytes = float(options.get("record_bytes", 1024))
    item_bytes = math.ceil(record_bytes + ITEM_OVERHEAD_BYTES)
    consumed_wcu = _series_sum(run.metric(_DYNAMODB, CONSUMED_WCU, "Sum"))
    stored = _series_sum(run.metric(m.NAMESPACE, RECORDS_STORED, "Sum")) or _series_sum(
        run.metric(_KINESIS, INCOMING_RECORDS, "Sum")
    )
    if consumed_wcu > 0 and stored > 0:
        wcu_per_record = consumed_wcu / stored
        wcu_source = "measured (ConsumedWriteCapacityUnits / records stored)"
    else:
        wcu_per_record = float(model.write_units(item_bytes))
        wcu_source = (
            f"estimated: {item_bytes:,} B items (record + {ITEM_OVERHEAD_BYTES} B of attributes)"
        )
    api_offered = api.total_offered if api else 0.0
    reads_per_record = api_offered / offered if offered > 0 else 0.0
    read_rate = float(np.nanmean(api.offered)) if api is not None else 0.0
    query_share = 0.0
    if api is not None and api_offered > 0:
        t = run.timeline
        queries = float(np.nansum(t.numbers["offered"][t.mask("request_type", rf.API_QUERY)]))
        query_share = queries / api_offered
    consumed_rcu = _series_sum(run.metric(_DYNAMODB, CONSUMED_RCU, "Sum"))
    api_accepted = float(np.nansum(api.accepted)) if api is not None else 0.0
    if consumed_rcu > 0 and api_accepted > 0:
        rcu_per_request = consumed_rcu / api_accepted
        rcu_source = "measured (ConsumedReadCapacityUnits / API answers)"
    else:
        get_units = model.read_units(item_bytes, consistent=False)
        query_units = model.query_read_units([item_bytes] * QUERY_PAGE_ITEMS, consistent=False)
        rcu_per_request = (1 - query_share) * get_units + query_share * query_units
        rcu_source = (
            f"estimated: eventually consistent GetItem of {item_bytes:,} B,"
            f" queries of {QUERY_PAGE_ITEMS} items"
        )
    ingest_fn, api_fn = _function_dimension(run, "ingest"), _function_dimension(run, "api")
    duration = _mean_over(run.metric(_LAMBDA, DURATION, "Average", ingest_fn))
    invocations = _series_sum(run.metric(_LAMBDA, INVOCATIONS, "Sum", ingest_fn))
    if duration and invocations > 0 and stored > 0:
        ms_per_record = duration / (stored / invocations)
        ingest_source = "measured (Lambda Duration / records per invocation)"
    else:
        ms_per_record = DEFAULT_INGEST_MS_PER_RECORD
        ingest_source = f"assumed {DEFAULT_INGEST_MS_PER_RECORD:g} ms a record (not measured)"
    api_duration = _mean_over(run.metric(_LAMBDA, DURATION, "Average", api_fn))
    if api_duration:
        api_ms, api_source = api_duration, "measured (Lambda Duration)"
    else:  # a median of per-second client p50s would not be a percentile of anything
        api_ms, api_source = DEFAULT_API_MS, f"assumed {DEFAULT_API_MS:g} ms (not measured)"
    hot = _hot_share(options)
    return Workload(
        record_bytes=record_bytes,
        item_bytes=item_bytes,
        write_units_per_record=wcu_per_record,
        write_units_source=wcu_source,
        reads_per_record=reads_per_record,
        read_rate=read_rate,
        read_units_per_request=rcu_per_request,
        read_units_source=rcu_source,
        query_share=query_share,
        ingest_ms_per_record=ms_per_record,
        ingest_duration_source=ingest_source,
        api_ms=api_ms,
        api_duration_source=api_source,
        hot_key_share=hot,
        key_strategy=str(options.get("key_strategy", "uniform")),
        api_concurrency_per_rps=_concurrency_per_rps(run, api_fn, read_rate),
    )


def _downstream_per_second(run: Run, start: float, family: PerSecond) -> np.ndarray:
    """Throttle events past the stream (table writes, ingest Lambda) on the family's seconds."""
    out = np.zeros(family.elapsed.size)
    for namespace, metric, dimension in (
        (_DYNAMODB, WRITE_THROTTLES, None),
        (_LAMBDA, LAMBDA_THROTTLES, _function_dimension(run, "ingest")),
    ):
        series = run.metric(namespace, metric, "Sum", dimension)
        if series is None:
            continue
        for stamp, value in zip(series.timestamps, series.values, strict=True):
            if value > 0:  # a period's events, spread over its seconds
                lo = np.searchsorted(family.elapsed, stamp - start)
                hi = np.searchsorted(family.elapsed, stamp - start + series.period_s)
                if hi > lo:
                    out[lo:hi] += value / series.period_s
    return out


def analyse(run: Run) -> Analysis:
    stamps = run.timeline.numbers["timestamp"]
    start = float(np.nanmin(stamps))
    duration = float(np.nanmax(stamps)) - start + 1
    ingest = _per_second(run, (rf.PUT_RECORDS,), start)
    api = _per_second(run, rf.API_REQUEST_TYPES, start)
    if ingest is not None and ingest.total_offered == 0:
        ingest = None
    if api is not None and api.total_offered == 0:
        api = None
    if ingest is None and api is None:
        from reports.reader import RunFolderError

        raise RunFolderError(
            f"the run has no traffic: {rf.TIMELINE_CSV} has no {rf.PUT_RECORDS} or API rows"
            " with records or requests offered"
        )
    family = ingest if ingest is not None else api
    if run.steps:
        levels = knees.levels_from_steps(run.steps)
        source = "steps.csv (each step judged; percentiles from merged histograms)"
    else:
        levels = knees.levels_from_timeline(
            family.target,
            family.offered,
            family.accepted,
            family.throttled,
            family.p50,
            family.p95,
            family.p99,
            _downstream_per_second(run, start, family) if family is ingest else None,
        )
        source = "timeline (each rate the scenario held)"
    knee = knees.find_knee(levels, source)
    work = workload(run, ingest, api)
    used = utilization(run, start, ingest, api)
    return Analysis(
        start=start,
        ingest=ingest,
        api=api,
        levels=levels,
        knee=knee,
        bottleneck=find_bottleneck(run, start, ingest, api, used, work.hot_key_share),
        utilization=used,
        iterator_age=iterator_age(run, start),
        workload=work,
        duration_s=duration,
    )
