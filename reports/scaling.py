"""The scaling section of the report: what a spike cost while auto scaling caught up, and what
another minimum capacity or target would have cost (the policy replayed offline).

Everything measured comes from the run folder: the table's `ConsumedWriteCapacityUnits`,
`ProvisionedWriteCapacityUnits` and `WriteThrottleEvents` in cloudwatch.csv, the ingest
handler's `WriteRetries`, and the scaling activities in scaling.json (written by the load test
from Application Auto Scaling's DescribeScalingActivities). The what-if table is a prediction:
it replays pipeline/autoscaling.py over the run's own demand, estimated per minute as what was
consumed plus each throttled write request at the run's average units per request.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline import aws_limits as L
from pipeline import metrics as M
from pipeline.autoscaling import TargetTracking, replay
from reports.reader import Run, Series

SCALING_JSON = "scaling.json"
NAMESPACE = "AWS/DynamoDB"
WHAT_IF_TARGETS = (50, 70, 90)
WHAT_IF_MIN_FACTORS = (1.0, 1.5, 2.0, 3.0)


@dataclass
class Minute:
    start: float
    provisioned: float | None
    consumed_per_s: float
    throttle_events: float
    demand_per_s: float
    activities: list[str] = field(default_factory=list)


@dataclass
class WhatIf:
    min_capacity: int
    target_utilization: int
    throttled_minutes: int
    scale_outs: int
    peak_capacity: float


@dataclass
class ScalingAnalysis:
    table: str
    minute_s: float
    minutes: list[Minute]
    activities: list[dict[str, Any]]
    throttled_minutes: int
    records_retried: float | None
    first_throttle_at: float | None
    first_scale_out_at: float | None
    last_throttle_at: float | None
    what_if: list[WhatIf]
    recommended_min: int | None
    recommended_target: int
    autoscaling_enabled: bool
    burst_seconds: float

    @property
    def overload_to_first_scale_out_s(self) -> float | None:
        if self.first_throttle_at is None or self.first_scale_out_at is None:
            return None
        return self.first_scale_out_at - self.first_throttle_at

    @property
    def overload_to_unthrottled_s(self) -> float | None:
        if self.first_throttle_at is None or self.last_throttle_at is None:
            return None
        return self.last_throttle_at + 1 - self.first_throttle_at


def _per_minute(series: Series | None, starts: np.ndarray, minute_s: float, how: str) -> list:
    values: list[float | None] = []
    for start in starts:
        if series is None:
            values.append(None)
            continue
        inside = (series.timestamps >= start) & (series.timestamps < start + minute_s)
        chosen = series.values[inside]
        if chosen.size == 0:
            values.append(None)
        elif how == "sum":
            values.append(float(np.nansum(chosen)))
        else:
            values.append(float(np.nanmax(chosen)))
    return values


def _pipeline_sum(run: Run, name: str) -> float | None:
    by_dimension = run.cloudwatch.get((M.NAMESPACE, name, "Sum"))
    if not by_dimension:
        return None
    return float(sum(np.nansum(s.values) for s in by_dimension.values()))


def read_scaling_json(run: Run) -> dict[str, Any]:
    path = run.path / SCALING_JSON
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def read_activities(run: Run) -> list[dict[str, Any]]:
    data = read_scaling_json(run)
    return sorted(data.get("ScalingActivities") or [], key=lambda a: float(a["StartTime"]))


def _resource_label(activity: dict[str, Any], table: str) -> str:
    """'' for the table itself, 'index <name>: ' for one of its GSIs (both scale alike)."""
    resource = str(activity.get("ResourceId", ""))
    prefix = f"table/{table}/index/"
    return f"index {resource[len(prefix) :]}: " if resource.startswith(prefix) else ""


def is_scale_out(activity: dict[str, Any]) -> bool:
    """AWS names the alarm in the cause: target tracking's AlarmHigh scales out."""
    direction = (activity.get("Details") or {}).get("Direction")
    return direction == "out" or (direction is None and "AlarmHigh" in activity.get("Cause", ""))


def analyse(run: Run, minute_s: float | None = None) -> ScalingAnalysis | None:
    """None when the table is on-demand, has no write-capacity metrics, or neither throttled
    nor had auto scaling in the run."""
    env = run.environment
    if env.table.billing_mode.value != "PROVISIONED":
        return None
    table = env.table.name
    dimension = f"TableName={table}"
    consumed = run.metric(NAMESPACE, "ConsumedWriteCapacityUnits", "Sum", dimension)
    if consumed is None or consumed.timestamps.size == 0:
        return None
    provisioned = run.metric(NAMESPACE, "ProvisionedWriteCapacityUnits", "Average", dimension)
    throttles = run.metric(NAMESPACE, "WriteThrottleEvents", "Sum", dimension)
    options = {**read_scaling_json(run), **(run.info.get("options") or {})}
    minute_s = float(minute_s or options.get("scaling_minute_s") or options.get("minute_s") or 60)
    burst_s = float(options.get("burst_seconds") or L.DYNAMODB_BURST_SECONDS)
    first = math.floor(float(consumed.timestamps.min()))
    last = math.ceil(float(consumed.timestamps.max()))
    starts = np.arange(first, last + 1, minute_s)
    consumed_sum = _per_minute(consumed, starts, minute_s, "sum")
    throttled_sum = _per_minute(throttles, starts, minute_s, "sum")
    provisioned_max = _per_minute(provisioned, starts, minute_s, "max")
    total_consumed = sum(v or 0.0 for v in consumed_sum)
    stored = _pipeline_sum(run, M.RECORDS_STORED.name)
    # units per throttled request: the run's own consumed units per stored record
    per_request = (total_consumed / stored) if stored else 1.0
    activities = read_activities(run)
    minutes = []
    for start, used, refused, cap in zip(
        starts, consumed_sum, throttled_sum, provisioned_max, strict=True
    ):
        used_per_s = (used or 0.0) / minute_s
        demand = used_per_s + (refused or 0.0) * per_request / minute_s
        marks = [
            f"{_resource_label(a, table)}{a.get('Description', '')} ({a.get('StatusCode', '')})"
            for a in activities
            if start <= float(a["StartTime"]) < start + minute_s
        ]
        minutes.append(Minute(float(start), cap, used_per_s, refused or 0.0, demand, marks))
    if not env.table.autoscaling.enabled and not activities and not any(throttled_sum):
        return None  # nothing scaled and nothing throttled: no section
    throttled_seconds = (
        throttles.timestamps[throttles.values > 0] if throttles is not None else np.array([])
    )
    first_throttle = float(throttled_seconds.min()) if throttled_seconds.size else None
    last_throttle = float(throttled_seconds.max()) if throttled_seconds.size else None
    scale_outs = [
        float(a["StartTime"])
        for a in activities
        if is_scale_out(a) and (first_throttle is None or float(a["StartTime"]) >= first_throttle)
    ]
    scaling = env.table.autoscaling
    demand = [m.demand_per_s for m in minutes]
    start_capacity = next((m.provisioned for m in minutes if m.provisioned), None)
    start_capacity = start_capacity or float(env.table.write_capacity)
    what_if, recommended = what_if_table(
        demand,
        int(start_capacity),
        scaling.max_write_capacity,
        scaling.target_utilization,
        burst_s / minute_s * 60.0,
    )
    return ScalingAnalysis(
        table=table,
        minute_s=minute_s,
        minutes=minutes,
        activities=activities,
        throttled_minutes=sum(1 for m in minutes if m.throttle_events > 0),
        records_retried=_pipeline_sum(run, M.WRITE_RETRIES.name),
        first_throttle_at=first_throttle,
        first_scale_out_at=min(scale_outs) if scale_outs else None,
        last_throttle_at=last_throttle,
        what_if=what_if,
        recommended_min=recommended,
        recommended_target=scaling.target_utilization,
        autoscaling_enabled=scaling.enabled,
        burst_seconds=burst_s,
    )


def what_if_table(
    demand_per_s: list[float],
    min_capacity: int,
    max_capacity: int,
    target: int,
    burst_seconds: float,
) -> tuple[list[WhatIf], int | None]:
    """Replay the policy for several minimums and targets; the recommended minimum is the
    smallest that leaves no throttled minute at the configured target (None if even the
    maximum does not)."""
    peak = max(demand_per_s, default=0.0)
    mins = sorted(
        {max(1, int(min_capacity * f)) for f in WHAT_IF_MIN_FACTORS}
        | {max(1, math.ceil(peak * 100 / target))}
    )
    rows = []
    for target_value in sorted({*WHAT_IF_TARGETS, target}):
        for low in mins:
            policy = TargetTracking(target_value, min(low, max_capacity), max_capacity)
            result = replay(policy, demand_per_s, float(low), burst_seconds=burst_seconds)
            rows.append(
                WhatIf(
                    low,
                    target_value,
                    result.throttled_minutes,
                    sum(1 for d in result.decisions if d.direction == "out"),
                    max(result.capacity, default=float(low)),
                )
            )
    recommended = recommended_minimum(demand_per_s, max_capacity, target, burst_seconds)
    return rows, recommended


def recommended_minimum(
    demand_per_s: list[float], max_capacity: int, target: int, burst_seconds: float
) -> int | None:
    """The smallest minimum capacity whose replay leaves no throttled minute (bisection:
    more minimum capacity never throttles more)."""

    def absorbs(low: int) -> bool:
        policy = TargetTracking(target, low, max_capacity)
        return (
            replay(policy, demand_per_s, float(low), burst_seconds=burst_seconds).throttled_minutes
            == 0
        )

    if not demand_per_s or not absorbs(max_capacity):
        return None
    lo, hi = 1, max_capacity
    while lo < hi:
        mid = (lo + hi) // 2
        if absorbs(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def apply_recommendation(
    recommended: dict[str, Any], changes: list[str], analysis: ScalingAnalysis | None
) -> None:
    """recommended.tfvars.json carries the autoscaling settings the what-if recommends."""
    if analysis is None or analysis.recommended_min is None or not analysis.autoscaling_enabled:
        return
    if not analysis.throttled_minutes and not analysis.activities:
        return  # no spike to absorb in this run: the sizing above stands
    table = recommended["table"]
    autoscaling = table.setdefault("autoscaling", {})
    minimum = analysis.recommended_min
    if table.get("write_capacity") != minimum:
        table["write_capacity"] = minimum
        changes.append(
            f"table.write_capacity (the autoscaling minimum): {minimum}, the smallest that "
            f"absorbs the measured spike at {analysis.recommended_target}% with burst capacity "
            "(policy replayed over this run)"
        )
    index_minimum = int((table.get("type_index") or {}).get("write_capacity") or 0)
    autoscaling["max_write_capacity"] = max(
        int(autoscaling.get("max_write_capacity") or 0), minimum, index_minimum
    )
    autoscaling["enabled"] = True
    autoscaling["target_utilization"] = analysis.recommended_target


def summary(analysis: ScalingAnalysis | None) -> dict[str, Any] | None:
    """The scaling keys of summary.json."""
    if analysis is None:
        return None
    return {
        "table": analysis.table,
        "minute_s": analysis.minute_s,
        "throttled_minutes": analysis.throttled_minutes,
        "records_retried": analysis.records_retried,
        "overload_to_first_scale_out_s": analysis.overload_to_first_scale_out_s,
        "overload_to_unthrottled_s": analysis.overload_to_unthrottled_s,
        "activities": len(analysis.activities),
        "recommended_min_write_capacity": analysis.recommended_min,
        "recommended_target_utilization": analysis.recommended_target,
        "what_if": [w.__dict__ for w in analysis.what_if],
    }


def resharding(run: Run) -> dict[str, Any] | None:
    """What UpdateShardCount did in the run and whether per-key order held (scaling.json):
    None when the run did not reshard."""
    data = read_scaling_json(run)
    reshards = data.get("reshards") or []
    if not reshards:
        return None
    return {
        "reshards": [
            {
                "requested_at": r.get("requested_at"),
                "from": r.get("current"),
                "to": r.get("target"),
                "seconds_to_active": r.get("seconds"),
                "error": r.get("error"),
            }
            for r in reshards
        ],
        "order": data.get("order"),
    }
