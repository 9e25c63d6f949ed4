"""`make status` lines for scaling: each auto scaling activity and each UpdateShardCount, from
the gateway's `GET /_redline/scaling`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def _clock(epoch: float | None) -> str:
    if epoch is None:
        return "--:--:--"
    return datetime.fromtimestamp(float(epoch), UTC).strftime("%H:%M:%S")


def scaling_lines(scaling: dict[str, Any] | None) -> list[str]:
    if not scaling:
        return []
    lines: list[str] = []
    autoscaling = scaling.get("autoscaling") or {}
    targets = autoscaling.get("ScalableTargets") or []
    if targets:
        lines.append(
            f"auto scaling: {len(targets)} targets, one policy minute = "
            f"{autoscaling.get('minute_s'):g} s, new capacity after "
            f"{autoscaling.get('apply_delay_s'):g} s"
        )
    for activity in reversed(autoscaling.get("ScalingActivities") or []):  # oldest first
        lines.append(
            f"  {_clock(activity.get('StartTime'))}-{_clock(activity.get('EndTime'))} "
            f"{activity['ResourceId']} {activity['ScalableDimension'].rsplit(':', 1)[-1]}: "
            f"{activity['Description']} {activity['StatusCode']} ({activity['Cause']})"
        )
    for reshard in scaling.get("resharding") or []:
        took = reshard.get("Seconds")
        lines.append(
            f"UpdateShardCount {reshard['StreamName']} {reshard['CurrentShardCount']} -> "
            f"{reshard['TargetShardCount']} at {_clock(reshard.get('RequestedAt'))}: "
            f"{reshard['Status']}"
            + (f" in {took:.2f} s" if took is not None else "")
            + f" ({reshard['Splits']} splits, {reshard['Merges']} merges)"
        )
    return lines
