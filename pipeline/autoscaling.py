"""DynamoDB auto scaling as Application Auto Scaling's target tracking does it, minute by minute.

One policy, three users: the local gateway runs it live, the report replays it offline over a
run's own timeline (the what-if table), and provisioning turns the environment file's
`table.autoscaling` block into the same RegisterScalableTarget / PutScalingPolicy calls that
Terraform makes. The rules (AWS, "Managing throughput capacity automatically with DynamoDB auto
scaling" and "Target tracking scaling policies for Application Auto Scaling"):

- utilization = one minute's consumed units per second / provisioned units, in percent;
- scale out after `AUTOSCALING_SCALE_OUT_MINUTES` consecutive minutes above the target, to
  consumed / target (rounded up, at most the maximum);
- scale in after `AUTOSCALING_SCALE_IN_MINUTES` consecutive minutes 20 % or more below the
  target, to consumed / target (at least the minimum);
- decreases: 4 at any time in a day, then one more only when none happened in the last hour
  (27 a day at most); increases are not limited;
- while a change applies the table is UPDATING and the alarms wait for it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline import aws_limits as L

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class TargetTracking:
    """One scalable dimension's policy: target utilization in percent, min and max units."""

    target_utilization: float
    min_capacity: int
    max_capacity: int

    def __post_init__(self) -> None:
        low, high = L.AUTOSCALING_MIN_TARGET_UTILIZATION, L.AUTOSCALING_MAX_TARGET_UTILIZATION
        if not low <= self.target_utilization <= high:
            raise ValueError(
                f"target_utilization must be {low}..{high}, got {self.target_utilization}"
            )
        if self.min_capacity > self.max_capacity:
            raise ValueError(
                f"min_capacity ({self.min_capacity}) must not exceed max_capacity "
                f"({self.max_capacity})"
            )

    def desired(self, consumed_per_s: float) -> int:
        wanted = math.ceil(consumed_per_s * 100.0 / self.target_utilization - 1e-9)
        return max(self.min_capacity, min(self.max_capacity, wanted))


@dataclass
class Decision:
    minute: int
    old: float
    new: int
    direction: str  # "out" or "in"
    cause: str


@dataclass
class PolicyState:
    """What the alarms remember between minutes."""

    capacity: float
    high_minutes: int = 0
    low_minutes: int = 0
    pending_until: int = -1  # minute index at which an UPDATING change has applied
    decreases: list[int] = field(default_factory=list)


def decrease_allowed(decreases: list[int], minute: int) -> bool:
    today = [m for m in decreases if m // MINUTES_PER_DAY == minute // MINUTES_PER_DAY]
    if len(today) < L.AUTOSCALING_FREE_DECREASES_PER_DAY:
        return True
    quiet_minutes = L.AUTOSCALING_DECREASE_QUIET_HOUR_S // 60
    return minute - max(today) >= quiet_minutes


def evaluate(
    policy: TargetTracking, state: PolicyState, minute: int, consumed_per_s: float
) -> Decision | None:
    """Feed one minute's average consumed units per second; return the scaling it triggers."""
    if minute < state.pending_until:
        return None  # UPDATING: the alarms are being moved to the new capacity
    utilization = 100.0 * consumed_per_s / state.capacity if state.capacity else 100.0
    target = policy.target_utilization
    state.high_minutes = state.high_minutes + 1 if utilization > target else 0
    low_line = target * (1.0 - L.AUTOSCALING_SCALE_IN_MARGIN)
    state.low_minutes = state.low_minutes + 1 if utilization < low_line else 0
    if state.high_minutes >= L.AUTOSCALING_SCALE_OUT_MINUTES:
        new = policy.desired(consumed_per_s)
        if new > state.capacity:
            state.high_minutes = state.low_minutes = 0
            return Decision(
                minute,
                state.capacity,
                new,
                "out",
                f"utilization {utilization:.0f}% above target {target:g}% for "
                f"{L.AUTOSCALING_SCALE_OUT_MINUTES} consecutive minutes",
            )
    if state.low_minutes >= L.AUTOSCALING_SCALE_IN_MINUTES:
        new = policy.desired(consumed_per_s)
        if new < state.capacity and decrease_allowed(state.decreases, minute):
            state.high_minutes = state.low_minutes = 0
            state.decreases.append(minute)
            return Decision(
                minute,
                state.capacity,
                new,
                "in",
                f"utilization {utilization:.0f}% at least 20% below target {target:g}% for "
                f"{L.AUTOSCALING_SCALE_IN_MINUTES} consecutive minutes",
            )
    return None


@dataclass
class Replay:
    """The policy run over a timeline of per-minute demand (units per second wanted)."""

    capacity: list[float]
    served: list[float]
    throttled: list[float]
    decisions: list[Decision]

    @property
    def throttled_minutes(self) -> int:
        return sum(1 for units in self.throttled if units > 0)


def replay(
    policy: TargetTracking,
    demand_per_s: Iterable[float],
    start_capacity: float | None = None,
    apply_delay_minutes: int = 1,
    burst_seconds: float = L.DYNAMODB_BURST_SECONDS,
) -> Replay:
    """Replay auto scaling offline over a timeline of offered units per second per minute.

    Each minute serves min(demand, capacity + burst balance): the burst bucket keeps up to
    `burst_seconds` of unused capacity, as DynamoDB's burst capacity does. What is not served is
    throttled. The alarms see what was consumed (served), as they do on AWS."""
    capacity = float(start_capacity if start_capacity is not None else policy.min_capacity)
    state = PolicyState(capacity=capacity)
    balance = capacity * burst_seconds
    pending: list[tuple[int, int]] = []
    result = Replay([], [], [], [])
    for minute, demand in enumerate(demand_per_s):
        for due, new in [p for p in pending if p[0] <= minute]:
            pending.remove((due, new))
            state.capacity = float(new)
        cap = state.capacity
        balance = min(cap * burst_seconds, balance)
        per_minute_room = cap * 60 + balance
        wanted = demand * 60
        served = min(wanted, per_minute_room)
        balance = max(0.0, min(cap * burst_seconds, balance + cap * 60 - served))
        result.capacity.append(cap)
        result.served.append(served / 60)
        result.throttled.append((wanted - served) / 60)
        decision = evaluate(policy, state, minute, served / 60)
        if decision is not None:
            result.decisions.append(decision)
            due = minute + max(1, apply_delay_minutes)
            state.pending_until = due
            pending.append((due, decision.new))
    return result


# ---------------------------------------------------------------------- environment file


def scalable_targets(config: Any) -> list[dict[str, Any]]:
    """RegisterScalableTarget + PutScalingPolicy requests for the table and its GSI, as the
    Terraform table module makes them (the capacities in the file are the minimums)."""
    table = config.table
    scaling = table.autoscaling
    if not scaling.enabled or table.billing_mode.value != "PROVISIONED":
        return []
    requests = []
    for owner, resource, read, write in (
        ("table", f"table/{table.name}", table.read_capacity, table.write_capacity),
        (
            "index",
            f"table/{table.name}/index/{table.type_index.name}",
            table.type_index.read_capacity,
            table.type_index.write_capacity,
        ),
    ):
        for kind, minimum, maximum in (
            ("Read", read, scaling.max_read_capacity),
            ("Write", write, scaling.max_write_capacity),
        ):
            requests.append(
                {
                    "ServiceNamespace": "dynamodb",
                    "ResourceId": resource,
                    "ScalableDimension": f"dynamodb:{owner}:{kind}CapacityUnits",
                    "MinCapacity": minimum,
                    "MaxCapacity": maximum,
                    "TargetValue": float(scaling.target_utilization),
                    "PredefinedMetricType": f"DynamoDB{kind}CapacityUtilization",
                }
            )
    return requests


def register_autoscaling(client: Any, config: Any) -> int:
    """Register the table's and the index's targets and their target-tracking policies with
    Application Auto Scaling (`client` is boto3's application-autoscaling); returns how many."""
    targets = scalable_targets(config)
    for target in targets:
        key = {k: target[k] for k in ("ServiceNamespace", "ResourceId", "ScalableDimension")}
        client.register_scalable_target(
            **key, MinCapacity=target["MinCapacity"], MaxCapacity=target["MaxCapacity"]
        )
        kind = "Read" if "Read" in target["ScalableDimension"] else "Write"
        client.put_scaling_policy(
            **key,
            PolicyName=f"{target['ResourceId'].replace('/', '-')}-{kind.lower()}-target-tracking",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": target["TargetValue"],
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": target["PredefinedMetricType"]
                },
            },
        )
    return len(targets)
