"""One forwarding pass: plan the minutes from the checkpoint, read them from CloudWatch in
batched GetMetricData calls, turn them into points, deliver, move the checkpoint over what
was delivered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from pipeline import aws_limits as limits

from .checkpoint import Checkpoint, plan_minutes, read_checkpoint, write_checkpoint
from .cloudwatch import PERIOD_S, FetchStats, aws_sources, build_queries, fetch, pipeline_sources
from .newrelic import Item, Sender, pack
from .points import minute_blocks
from .settings import Settings

logger = Logger(child=True)


@dataclass(frozen=True)
class PassResult:
    minutes_planned: int
    minutes_delivered: int
    points_delivered: int
    get_metric_data_calls: int
    backlog_minutes: int
    skipped_minutes: int
    checkpoint: str

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def forward_once(
    settings: Settings,
    cloudwatch: Any,
    ssm: Any,
    sender: Sender,
    now: float,
    deadline: float,
    max_post_bytes: int = limits.NEW_RELIC_MAX_POST_BYTES,
) -> PassResult:
    checkpoint = read_checkpoint(ssm, settings.checkpoint_parameter)
    plan = plan_minutes(
        checkpoint,
        now,
        settings.settle_seconds,
        settings.first_run_minutes,
        settings.max_minutes_per_run,
    )
    if plan.skipped_minutes:
        logger.warning(
            f"{plan.skipped_minutes} minutes are older than New Relic accepts (48 h) and "
            "were not forwarded"
        )
    if not plan.minutes:
        if plan.skipped_minutes and checkpoint is not None:
            write_checkpoint(ssm, settings.checkpoint_parameter, Checkpoint(int(now) // 60 * 60))
        return PassResult(0, 0, 0, 0, plan.backlog_minutes, plan.skipped_minutes, "unchanged")

    sources = pipeline_sources(settings.resources) + aws_sources(settings.resources)
    queries = build_queries(sources)
    fetch_stats = FetchStats()
    values = fetch(cloudwatch, queries, plan.minutes[0], plan.minutes[-1] + PERIOD_S, fetch_stats)
    blocks = minute_blocks(
        queries,
        values,
        plan.minutes,
        settings.resources.environment,
        settings.forward_aws_metrics,
    )
    items = [Item(block, point) for block in blocks for point in block.points]
    items = items[plan.skip_points :]
    # One POST at a time, the checkpoint moved after each accepted one: a crash, a timeout or
    # a failed PutParameter after New Relic's 202 can send at most that one POST again (the
    # exception stops the pass; the forwarder's async retries are 0 in Terraform).
    done = 0
    new_checkpoint, minutes_delivered = checkpoint, 0
    for part in pack(items, max_post_bytes):
        sent = sender.deliver(part, deadline)
        done += sent
        if sent:
            new_checkpoint, minutes_delivered = _delivered_up_to(
                blocks, plan.minutes[-1], done + plan.skip_points
            )
            if checkpoint != new_checkpoint:
                write_checkpoint(ssm, settings.checkpoint_parameter, new_checkpoint)
                checkpoint = new_checkpoint
        if sent < len(part):
            break
    if new_checkpoint is None:  # a first pass that delivered nothing: start here next time
        new_checkpoint = Checkpoint(plan.minutes[0], plan.skip_points)
        write_checkpoint(ssm, settings.checkpoint_parameter, new_checkpoint)
    return PassResult(
        minutes_planned=len(plan.minutes),
        minutes_delivered=minutes_delivered,
        points_delivered=done,
        get_metric_data_calls=fetch_stats.calls,
        backlog_minutes=plan.backlog_minutes + len(plan.minutes) - minutes_delivered,
        skipped_minutes=plan.skipped_minutes,
        checkpoint=new_checkpoint.to_json(),
    )


def _delivered_up_to(blocks: list, last_minute: int, position: int) -> tuple[Checkpoint, int]:
    """(checkpoint, minutes fully delivered) when the first `position` points are delivered:
    the first minute not fully delivered, and how many of its points were."""
    for index, block in enumerate(blocks):
        if position < len(block.points):
            return Checkpoint(block.minute, position), index
        position -= len(block.points)
    return Checkpoint(last_minute + PERIOD_S), len(blocks)
