"""Application Auto Scaling for DynamoDB on the local gateway: the API (RegisterScalableTarget,
PutScalingPolicy, Describe*) and a controller that runs target tracking (pipeline/autoscaling.py)
over the consumed capacity the gateway itself counted, then changes the table's capacity
through the engine's UpdateTable.

Timing knobs (environment variables read when the gateway starts):
- REDLINE_SCALING_MINUTE_S: seconds in one alarm minute (default 60, AWS's). A smaller value
  replays the same policy faster for a local rehearsal: every "minute" of the rules (2 to scale
  out, 15 to scale in, the hour and day of the decrease limits) shrinks with it.
- REDLINE_SCALING_APPLY_DELAY_S: seconds between a scaling decision and the new capacity
  (default 60; AWS documents "seconds to minutes"). The table reads UPDATING meanwhile.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline import aws_limits as L
from pipeline import metrics as M
from pipeline.autoscaling import Decision, PolicyState, TargetTracking, evaluate
from pipeline.local.aws.cloudwatch import MetricStore
from pipeline.local.aws.errors import ACCOUNT_ID, REGION, AwsError

logger = logging.getLogger("redline.gateway.autoscaling")

TARGET_PREFIX = "AnyScaleFrontendService"
CONTENT_TYPE = "application/x-amz-json-1.1"
DEFAULT_MINUTE_S = 60.0
DEFAULT_APPLY_DELAY_S = 60.0
MINUTE_ENV = "REDLINE_SCALING_MINUTE_S"
DELAY_ENV = "REDLINE_SCALING_APPLY_DELAY_S"
NAMESPACE = "AWS/DynamoDB"
DIMENSIONS = (
    "dynamodb:table:ReadCapacityUnits",
    "dynamodb:table:WriteCapacityUnits",
    "dynamodb:index:ReadCapacityUnits",
    "dynamodb:index:WriteCapacityUnits",
)
METRIC_TYPES = ("DynamoDBReadCapacityUtilization", "DynamoDBWriteCapacityUtilization")


def knob(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ValueError(f"{name}={raw!r}: expected a number of seconds greater than 0")
    return value


def _validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


@dataclass
class ScalableTarget:
    resource_id: str
    dimension: str
    min_capacity: int
    max_capacity: int
    created: float
    policy_name: str | None = None
    target_value: float | None = None
    state: PolicyState | None = None
    updating: bool = False

    @property
    def table(self) -> str:
        return self.resource_id.split("/")[1]

    @property
    def index(self) -> str | None:
        parts = self.resource_id.split("/")
        return parts[3] if len(parts) == 4 else None

    @property
    def kind(self) -> str:
        return "Read" if self.dimension.endswith("ReadCapacityUnits") else "Write"


class AutoScaling:
    """The Application Auto Scaling front and its controller thread.

    `describe_table(name)` returns the engine's table description; `update_table(request)`
    applies an UpdateTable through the DynamoDB front (which resizes its buckets)."""

    def __init__(
        self,
        metrics: MetricStore,
        describe_table: Callable[[str], dict[str, Any]],
        update_table: Callable[[dict[str, Any]], None],
        minute_s: float | None = None,
        apply_delay_s: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.metrics = metrics
        self._describe_table = describe_table
        self._update_table = update_table
        self.minute_s = minute_s if minute_s is not None else knob(MINUTE_ENV, DEFAULT_MINUTE_S)
        self.apply_delay_s = (
            apply_delay_s if apply_delay_s is not None else knob(DELAY_ENV, DEFAULT_APPLY_DELAY_S)
        )
        self._clock = clock
        self._lock = threading.RLock()
        self.targets: dict[tuple[str, str], ScalableTarget] = {}
        self.activities: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, daemon=True, name="autoscaling")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def reset(self) -> None:
        with self._lock:
            self.targets.clear()
            self.activities.clear()

    def updating(self, table: str) -> bool:
        with self._lock:
            return any(t.updating and t.table == table for t in self.targets.values())

    # ------------------------------------------------------------------ API

    def handle(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, f"_op_{operation}", None)
        if handler is None:
            raise AwsError(
                "UnknownOperationException",
                f"Operation {TARGET_PREFIX}.{operation} is not served by the local gateway "
                "(RegisterScalableTarget, PutScalingPolicy, DescribeScalableTargets, "
                "DescribeScalingPolicies, DescribeScalingActivities, DeregisterScalableTarget).",
            )
        return handler(request)

    @staticmethod
    def _key(request: dict[str, Any]) -> tuple[str, str]:
        if request.get("ServiceNamespace") != "dynamodb":
            raise _validation(
                f"1 validation error detected: Value '{request.get('ServiceNamespace')}' at "
                "'serviceNamespace' failed to satisfy constraint: the local gateway scales "
                "only dynamodb"
            )
        resource = request.get("ResourceId")
        dimension = request.get("ScalableDimension")
        if dimension not in DIMENSIONS:
            raise _validation(
                f"1 validation error detected: Value '{dimension}' at 'scalableDimension' failed "
                "to satisfy constraint: Member must satisfy enum value set: "
                f"[{', '.join(DIMENSIONS)}]"
            )
        parts = str(resource or "").split("/")
        is_index = dimension.startswith("dynamodb:index:")
        if parts[0] != "table" or len(parts) != (4 if is_index else 2) or not all(parts):
            shape = "table/<table>/index/<index>" if is_index else "table/<table>"
            raise _validation(f"Unsupported resource ID {resource!r} for {dimension}: use {shape}")
        return str(resource), str(dimension)

    def _op_RegisterScalableTarget(self, request: dict[str, Any]) -> dict[str, Any]:
        key = self._key(request)
        with self._lock:
            old = self.targets.get(key)
            low = request.get("MinCapacity", old.min_capacity if old else None)
            high = request.get("MaxCapacity", old.max_capacity if old else None)
            if low is None or high is None:
                raise _validation("MinCapacity and MaxCapacity are required for a new target")
            if int(low) > int(high):
                raise _validation(
                    f"Minimum capacity ({low}) cannot be greater than maximum capacity ({high})"
                )
            self._check_exists(key[0])
            if old is None:
                self.targets[key] = ScalableTarget(*key, int(low), int(high), self._clock())
            else:
                old.min_capacity, old.max_capacity = int(low), int(high)
                if old.target_value is not None:
                    self._reset_state(old)
        arn = (
            f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT_ID}:scalable-target/"
            f"{uuid.uuid4().hex}"
        )
        return {"ScalableTargetARN": arn}

    def _op_PutScalingPolicy(self, request: dict[str, Any]) -> dict[str, Any]:
        key = self._key(request)
        if request.get("PolicyType") != "TargetTrackingScaling":
            raise _validation(
                f"PolicyType {request.get('PolicyType')!r}: the local gateway runs "
                "TargetTrackingScaling policies only"
            )
        config = request.get("TargetTrackingScalingPolicyConfiguration") or {}
        value = config.get("TargetValue")
        low, high = L.AUTOSCALING_MIN_TARGET_UTILIZATION, L.AUTOSCALING_MAX_TARGET_UTILIZATION
        if not isinstance(value, int | float) or not low <= value <= high:
            raise _validation(
                f"TargetValue {value} is out of range: DynamoDB target utilization must be "
                f"between {low} and {high} percent"
            )
        metric = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
        kind = "Read" if "Read" in key[1] else "Write"
        if metric != f"DynamoDB{kind}CapacityUtilization":
            raise _validation(
                f"PredefinedMetricType {metric!r} does not match {key[1]}: use "
                f"DynamoDB{kind}CapacityUtilization"
            )
        with self._lock:
            target = self.targets.get(key)
            if target is None:
                raise AwsError(
                    "ObjectNotFoundException",
                    f"No scalable target registered for service namespace: dynamodb, resource "
                    f"ID: {key[0]}, scalable dimension: {key[1]}",
                )
            target.policy_name = str(request.get("PolicyName") or "target-tracking")
            target.target_value = float(value)
            self._reset_state(target)
        self.start()
        arn = (
            f"arn:aws:autoscaling:{REGION}:{ACCOUNT_ID}:scalingPolicy:{uuid.uuid4()}:resource/"
            f"dynamodb/{key[0]}:policyName/{target.policy_name}"
        )
        return {"PolicyARN": arn, "Alarms": []}

    def _check_exists(self, resource_id: str) -> None:
        parts = resource_id.split("/")
        try:
            table = self._describe_table(parts[1])
        except AwsError as exc:
            if exc.code == "ResourceNotFoundException":
                raise _validation(f"DynamoDB table {parts[1]} does not exist") from None
            raise
        indexes = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes") or []}
        if len(parts) == 4 and parts[3] not in indexes:
            raise _validation(f"DynamoDB table {parts[1]} has no global secondary index {parts[3]}")

    def _reset_state(self, target: ScalableTarget) -> None:
        target.state = PolicyState(capacity=self._provisioned(target))

    def _matching(self, request: dict[str, Any]) -> list[ScalableTarget]:
        ids = request.get("ResourceIds") or (
            [request["ResourceId"]] if request.get("ResourceId") else None
        )
        dimension = request.get("ScalableDimension")
        with self._lock:
            return [
                t
                for t in self.targets.values()
                if (ids is None or t.resource_id in ids)
                and (dimension is None or t.dimension == dimension)
            ]

    def _op_DescribeScalableTargets(self, request: dict[str, Any]) -> dict[str, Any]:
        return {
            "ScalableTargets": [
                {
                    "ServiceNamespace": "dynamodb",
                    "ResourceId": t.resource_id,
                    "ScalableDimension": t.dimension,
                    "MinCapacity": t.min_capacity,
                    "MaxCapacity": t.max_capacity,
                    "CreationTime": t.created,
                    "RoleARN": f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/"
                    "dynamodb.application-autoscaling.amazonaws.com/"
                    "AWSServiceRoleForApplicationAutoScaling_DynamoDBTable",
                }
                for t in self._matching(request)
            ]
        }

    def _op_DescribeScalingPolicies(self, request: dict[str, Any]) -> dict[str, Any]:
        return {
            "ScalingPolicies": [
                {
                    "PolicyName": t.policy_name,
                    "ServiceNamespace": "dynamodb",
                    "ResourceId": t.resource_id,
                    "ScalableDimension": t.dimension,
                    "PolicyType": "TargetTrackingScaling",
                    "TargetTrackingScalingPolicyConfiguration": {
                        "TargetValue": t.target_value,
                        "PredefinedMetricSpecification": {
                            "PredefinedMetricType": f"DynamoDB{t.kind}CapacityUtilization"
                        },
                    },
                    "CreationTime": t.created,
                }
                for t in self._matching(request)
                if t.policy_name
            ]
        }

    def _op_DescribeScalingActivities(self, request: dict[str, Any]) -> dict[str, Any]:
        resource = request.get("ResourceId")
        dimension = request.get("ScalableDimension")
        with self._lock:
            found = [
                dict(a)
                for a in reversed(self.activities)  # newest first, as AWS lists them
                if (resource is None or a["ResourceId"] == resource)
                and (dimension is None or a["ScalableDimension"] == dimension)
            ]
        return {"ScalingActivities": found}

    def _op_DeregisterScalableTarget(self, request: dict[str, Any]) -> dict[str, Any]:
        key = self._key(request)
        with self._lock:
            if self.targets.pop(key, None) is None:
                raise AwsError(
                    "ObjectNotFoundException",
                    f"No scalable target registered for service namespace: dynamodb, resource "
                    f"ID: {key[0]}, scalable dimension: {key[1]}",
                )
        return {}

    # ------------------------------------------------------------------ controller

    def _provisioned(self, target: ScalableTarget) -> float:
        table = self._describe_table(target.table)
        throughput = table.get("ProvisionedThroughput") or {}
        if target.index is not None:
            for index in table.get("GlobalSecondaryIndexes") or []:
                if index["IndexName"] == target.index:
                    throughput = index.get("ProvisionedThroughput") or {}
        return float(throughput.get(f"{target.kind}CapacityUnits") or 0)

    def consumed_per_second(self, target: ScalableTarget, start: float, end: float) -> float:
        dimensions = [{"Name": "TableName", "Value": target.table}]
        if target.index is not None:
            dimensions.append({"Name": "GlobalSecondaryIndexName", "Value": target.index})
        reply = self.metrics.get_metric_statistics(
            {
                "Namespace": NAMESPACE,
                "MetricName": M.by_name(f"Consumed{target.kind}CapacityUnits", NAMESPACE).name,
                "Dimensions": dimensions,
                "StartTime": start,
                "EndTime": end,
                "Period": 1,
                "Statistics": ["Sum"],
            }
        )
        return sum(p["Sum"] or 0.0 for p in reply["Datapoints"]) / max(end - start, 1e-9)

    def _loop(self) -> None:
        next_tick = math.floor(self._clock() / self.minute_s + 1) * self.minute_s
        while not self._stop.wait(max(0.0, next_tick - self._clock())):
            try:
                self.tick(next_tick)
            except Exception:
                logger.exception("auto scaling tick failed")
            next_tick += self.minute_s

    def tick(self, now: float) -> list[Decision]:
        """Evaluate every policy over the minute that ended at `now`."""
        decisions = []
        minute = int(now // self.minute_s)
        with self._lock:
            targets = [t for t in self.targets.values() if t.state is not None]
        for target in targets:
            assert target.state is not None and target.target_value is not None
            if target.updating:
                continue
            try:
                target.state.capacity = self._provisioned(target)
            except AwsError:
                continue  # the table is gone
            self._publish_provisioned(target, now)
            policy = TargetTracking(target.target_value, target.min_capacity, target.max_capacity)
            consumed = self.consumed_per_second(target, now - self.minute_s, now)
            decision = evaluate(policy, target.state, minute, consumed)
            if decision is None:
                continue
            decisions.append(decision)
            self._begin(target, decision)
        return decisions

    def _publish_provisioned(self, target: ScalableTarget, now: float) -> None:
        dims: tuple[tuple[str, str], ...] = (("TableName", target.table),)
        if target.index is not None:
            dims = (("GlobalSecondaryIndexName", target.index), ("TableName", target.table))
        name = M.by_name(f"Provisioned{target.kind}CapacityUnits", NAMESPACE).name
        assert target.state is not None
        self.metrics.record(NAMESPACE, name, dims, target.state.capacity, "Count", now)

    def _begin(self, target: ScalableTarget, decision: Decision) -> None:
        started = self._clock()
        alarm = "AlarmHigh" if decision.direction == "out" else "AlarmLow"
        activity = {
            "ActivityId": str(uuid.uuid4()),
            "ServiceNamespace": "dynamodb",
            "ResourceId": target.resource_id,
            "ScalableDimension": target.dimension,
            "Description": f"Setting {target.kind.lower()} capacity units to {decision.new}.",
            "Cause": f"monitor alarm TargetTracking-{target.resource_id}-{alarm} in state ALARM "
            f"triggered policy {target.policy_name}: {decision.cause}",
            "StartTime": started,
            "StatusCode": "InProgress",
            "Details": {"From": decision.old, "To": decision.new, "Direction": decision.direction},
        }
        with self._lock:
            target.updating = True
            self.activities.append(activity)
        timer = threading.Timer(self.apply_delay_s, self._apply, (target, decision, activity))
        timer.daemon = True
        timer.start()

    def _apply(self, target: ScalableTarget, decision: Decision, activity: dict) -> None:
        request: dict[str, Any] = {"TableName": target.table}
        try:
            table = self._describe_table(target.table)
            if target.index is None:
                current = table.get("ProvisionedThroughput") or {}
                request["ProvisionedThroughput"] = {
                    "ReadCapacityUnits": current.get("ReadCapacityUnits"),
                    "WriteCapacityUnits": current.get("WriteCapacityUnits"),
                    f"{target.kind}CapacityUnits": decision.new,
                }
            else:
                index = next(
                    i
                    for i in table.get("GlobalSecondaryIndexes") or []
                    if i["IndexName"] == target.index
                )
                current = index.get("ProvisionedThroughput") or {}
                request["GlobalSecondaryIndexUpdates"] = [
                    {
                        "Update": {
                            "IndexName": target.index,
                            "ProvisionedThroughput": {
                                "ReadCapacityUnits": current.get("ReadCapacityUnits"),
                                "WriteCapacityUnits": current.get("WriteCapacityUnits"),
                                f"{target.kind}CapacityUnits": decision.new,
                            },
                        }
                    }
                ]
            self._update_table(request)
            status, message = "Successful", "Successfully set capacity."
        except Exception as exc:
            logger.exception("UpdateTable for %s failed", target.resource_id)
            status, message = "Failed", f"Failed to set capacity: {exc}"
        with self._lock:
            activity.update(StatusCode=status, StatusMessage=message, EndTime=self._clock())
            target.updating = False
            if target.state is not None and status == "Successful":
                target.state.capacity = float(decision.new)


__all__ = ["CONTENT_TYPE", "TARGET_PREFIX", "AutoScaling"]
