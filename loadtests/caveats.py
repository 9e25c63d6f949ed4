"""What a table-bound knee found on AWS cannot show: burst credit and autoscaling.

DynamoDB keeps up to 300 seconds of unused provisioned capacity as burst credit, so a run
shorter than that can go past the provisioned rate without a throttle; target-tracking
autoscaling raises the capacity after its alarms fire (minutes), so a long run can end above
the configured capacity. Either can hide or move the limit a run reports.
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/burst-adaptive-capacity.html
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/AutoScaling.html
"""

from __future__ import annotations

from typing import Any

from pipeline import aws_limits as limits
from pipeline.config import BillingMode, EnvironmentConfig


def table_knee_caveats(
    environment: EnvironmentConfig,
    bottleneck: dict[str, Any] | None,
    target: str,
    burst_spent: bool = False,
) -> list[str]:
    """One sentence per effect that could have hidden the table's limit in this run
    (`burst_spent`: the search's burst phase saw the table throttle before probing)."""
    if target != "aws" or not bottleneck or "dynamodb" not in str(bottleneck.get("resource")):
        return []
    table = environment.table
    if table.billing_mode is not BillingMode.PROVISIONED:
        return [
            "the table is on-demand: AWS lets it double its previous peak at once, so a"
            " knee here may move as the table's peak grows"
        ]
    caveats = (
        []
        if burst_spent
        else [
            f"burst: DynamoDB banks up to {limits.DYNAMODB_BURST_SECONDS:g} s of unused"
            " provisioned capacity, so rates above the table's capacity can pass without a"
            " throttle until it is spent; a knee from a short probe may be above the lasting one"
        ]
    )
    if table.autoscaling.enabled:
        caveats.append(
            "autoscaling is on (target"
            f" {table.autoscaling.target_utilization}% up to"
            f" {table.autoscaling.max_write_capacity} WCU): it raises the capacity minutes"
            " after the load rises, so a longer run may sustain more than this knee"
        )
    return caveats
