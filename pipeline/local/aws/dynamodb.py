"""DynamoDB in front of dynalite: capacity token buckets per table and GSI, per-partition caps,
on-demand rules, ReturnConsumedCapacity, AWS/DynamoDB metrics."""

from __future__ import annotations

from typing import Any

from pipeline.local.aws.cloudwatch import MetricStore
from pipeline.local.aws.protocol import EngineClient, Response

TARGET_PREFIX = "DynamoDB_20120810"
NAMESPACE = "AWS/DynamoDB"


class DynamoFront:
    def __init__(
        self, engine: EngineClient, metrics: MetricStore, limits_enabled: bool, burst_seconds: float
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.limits_enabled = limits_enabled
        self.burst_seconds = burst_seconds

    def reset(self) -> None:
        pass

    def handle(self, operation: str, body: bytes, request: dict[str, Any], auth: str) -> Response:
        return self.engine.call(f"{TARGET_PREFIX}.{operation}", body, auth)
