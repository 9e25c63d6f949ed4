"""Where the forwarder resumes: the SSM parameter /redline/<env>/forwarder/checkpoint.

The value names the first minute not yet fully delivered and how many of its points were
(after a 413 split, part of a minute can be accepted before New Relic stops answering), so
the next run sends each point once. Terraform creates the parameter with "0": a first run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from pipeline import aws_limits as limits

from .cloudwatch import PERIOD_S

logger = Logger(child=True)


@dataclass(frozen=True)
class Checkpoint:
    next_minute: int  # epoch seconds of the first minute not fully delivered
    points_sent: int = 0  # points of that minute already accepted

    def to_json(self) -> str:
        return json.dumps(
            {
                "next_minute": self.next_minute,
                "next_minute_utc": datetime.fromtimestamp(self.next_minute, UTC).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "points_sent": self.points_sent,
            },
            sort_keys=True,
        )


def parse_checkpoint(raw: str) -> Checkpoint | None:
    """None for the first run ("0" or empty); ValueError naming the value when unreadable."""
    text = raw.strip()
    if text in ("", "0"):
        return None
    try:
        data = json.loads(text)
        if isinstance(data, int):
            return Checkpoint(next_minute=data)
        next_minute, points_sent = int(data["next_minute"]), int(data.get("points_sent", 0))
    except (ValueError, TypeError, KeyError):
        raise ValueError(
            f'checkpoint {text[:200]!r} is not {{"next_minute": <epoch s>, "points_sent": <n>}}'
        ) from None
    if next_minute % PERIOD_S or points_sent < 0:
        raise ValueError(f"checkpoint {text[:200]!r} does not start a minute")
    return Checkpoint(next_minute=next_minute, points_sent=points_sent)


def read_checkpoint(ssm: Any, name: str) -> Checkpoint | None:
    try:
        raw = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return None
    try:
        return parse_checkpoint(raw)
    except ValueError as exc:
        logger.warning(f"{name}: {exc}; starting as a first run")
        return None


def write_checkpoint(ssm: Any, name: str, checkpoint: Checkpoint) -> None:
    ssm.put_parameter(Name=name, Value=checkpoint.to_json(), Type="String", Overwrite=True)


@dataclass(frozen=True)
class Plan:
    minutes: list[int]  # minute starts to forward this run, oldest first
    skip_points: int  # points of the first minute already delivered
    skipped_minutes: int  # minutes older than New Relic accepts, given up
    backlog_minutes: int  # complete minutes still waiting after this run


def plan_minutes(
    checkpoint: Checkpoint | None,
    now: float,
    settle_seconds: int,
    first_run_minutes: int,
    max_minutes: int,
) -> Plan:
    """The complete minutes to forward: from the checkpoint (or the last few minutes on a first
    run) to the last minute that ended `settle_seconds` ago, at most `max_minutes` of them."""
    end = int(now - settle_seconds) // PERIOD_S * PERIOD_S  # exclusive
    if checkpoint is None:
        start, skip = end - first_run_minutes * PERIOD_S, 0
    else:
        start, skip = checkpoint.next_minute, checkpoint.points_sent
    # New Relic drops points older than 48 h; keep a margin for the time the run takes.
    oldest = (int(now) - limits.NEW_RELIC_MAX_POINT_AGE_S) // PERIOD_S * PERIOD_S + PERIOD_S * 60
    skipped = 0
    if start < oldest:
        skipped, start, skip = (oldest - start) // PERIOD_S, oldest, 0
    available = list(range(start, end, PERIOD_S))
    minutes = available[:max_minutes]
    return Plan(
        minutes=minutes,
        skip_points=skip if minutes else 0,
        skipped_minutes=skipped,
        backlog_minutes=len(available) - len(minutes),
    )
