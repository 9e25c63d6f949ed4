"""Kinesis `UpdateShardCount` (UNIFORM_SCALING) on top of kinesalite, which has none.

The call is validated as AWS validates it (target >= 1, scaling type UNIFORM_SCALING, at most
double or half the open shard count, at most 10 calls per rolling 24 h per stream, PROVISIONED
streams only, the stream ACTIVE), answered at once, and then carried out in the background as
AWS does it: by splitting and merging shards until the open shards are N even hash ranges.
Parents close and children open through the engine's own SplitShard/MergeShards, so lineage
(ParentShardId, AdjacentParentShardId) is the engine's. The stream reads UPDATING until the
last step is done; the gateway's shard map is refreshed after every step.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline import aws_limits as L
from pipeline import capacity
from pipeline.local.aws.errors import ACCOUNT_ID, REGION, AwsError

logger = logging.getLogger("redline.gateway.resharding")

TARGET_PREFIX = "Kinesis_20131202"
UNIFORM_SCALING = "UNIFORM_SCALING"
STEP_ACTIVE_TIMEOUT_S = 30.0

EngineCall = Callable[[str, dict[str, Any]], Any]  # (operation, request) -> parsed reply


@dataclass
class Reshard:
    """One UpdateShardCount as it ran: what the operator waits for."""

    stream: str
    current: int
    target: int
    requested_at: float
    finished_at: float | None = None
    splits: int = 0
    merges: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        took = None if self.finished_at is None else round(self.finished_at - self.requested_at, 3)
        return {
            "StreamName": self.stream,
            "CurrentShardCount": self.current,
            "TargetShardCount": self.target,
            "RequestedAt": self.requested_at,
            "FinishedAt": self.finished_at,
            "Seconds": took,
            "Splits": self.splits,
            "Merges": self.merges,
            "Status": "Failed" if self.error else ("InProgress" if took is None else "Successful"),
            **({"Error": self.error} if self.error else {}),
        }


@dataclass
class _StreamCalls:
    accepted: deque[float] = field(default_factory=deque)
    running: Reshard | None = None


def validation_errors(request: dict[str, Any]) -> list[str]:
    """AWS's request validation of TargetShardCount and ScalingType, in its words."""
    errors = []
    target = request.get("TargetShardCount")
    if isinstance(target, int) and target < 1:
        errors.append(
            f"Value '{target}' at 'targetShardCount' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1"
        )
    scaling = request.get("ScalingType")
    if scaling != UNIFORM_SCALING:
        shown = "null" if scaling is None else scaling
        errors.append(
            f"Value '{shown}' at 'scalingType' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{UNIFORM_SCALING}]"
        )
    if not isinstance(target, int):
        errors.append(
            "Value null at 'targetShardCount' failed to satisfy constraint: Member must not be null"
        )
    return errors


def check_step_size(open_count: int, target: int) -> None:
    """At most double or half the open shard count per call."""
    if target > open_count * 2:
        raise AwsError(
            "LimitExceededException",
            "UpdateShardCount cannot scale up over double your current open shard count. "
            f"Current open shard count: {open_count}, Target shard count: {target}",
        )
    if target * 2 < open_count:
        raise AwsError(
            "LimitExceededException",
            "UpdateShardCount cannot scale down below half your current open shard count. "
            f"Current open shard count: {open_count}, Target shard count: {target}",
        )
    if target > L.KINESIS_MAX_SHARDS_PER_STREAM:
        raise AwsError(
            "LimitExceededException",
            f"Target shard count cannot be greater than {L.KINESIS_MAX_SHARDS_PER_STREAM}. "
            f"Current open shard count: {open_count}, Target shard count: {target}",
        )


def next_step(open_ranges: list[tuple[str, int, int]], target: int) -> tuple[str, dict] | None:
    """The next SplitShard or MergeShards that moves the open shards toward `target` even
    ranges, or None when they are there. Splits first (at each missing boundary), then merges
    (across each boundary that should not exist): a double or a half takes N steps."""
    wanted = {start for start, _ in capacity.even_hash_ranges(target)}
    ordered = sorted(open_ranges, key=lambda r: r[1])
    starts = {start for _, start, _ in ordered}
    for boundary in sorted(wanted - starts):
        for shard_id, start, end in ordered:
            if start < boundary <= end:
                return "SplitShard", {
                    "ShardToSplit": shard_id,
                    "NewStartingHashKey": str(boundary),
                }
    for left, right in itertools.pairwise(ordered):
        if right[1] not in wanted:
            return "MergeShards", {"ShardToMerge": left[0], "AdjacentShardToMerge": right[0]}
    return None


class Resharder:
    """UpdateShardCount for the Kinesis front: `engine` calls kinesalite, `on_step` refreshes
    the gateway's shard map, `clock` drives the rolling 24-hour window."""

    def __init__(
        self,
        engine: EngineCall,
        on_step: Callable[[str], None],
        mode_of: Callable[[str], str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._on_step = on_step
        self._mode_of = mode_of
        self._clock = clock
        self._lock = threading.Lock()
        self._streams: dict[str, _StreamCalls] = {}
        self.history: list[Reshard] = []

    def reset(self) -> None:
        with self._lock:
            self._streams.clear()
            self.history.clear()

    def updating(self, name: str | None) -> bool:
        with self._lock:
            calls = self._streams.get(name or "")
            return calls is not None and calls.running is not None

    def overlay_status(self, description: dict[str, Any], name: str | None) -> None:
        """DescribeStream(Summary): the stream stays UPDATING across all of a reshard's steps."""
        if self.updating(name):
            description["StreamStatus"] = "UPDATING"

    def _open_ranges(self, name: str) -> list[tuple[str, int, int]]:
        shards: list[dict[str, Any]] = []
        request: dict[str, Any] = {"StreamName": name}
        while True:
            page = self._engine("ListShards", request)
            shards.extend(page.get("Shards", []))
            if not page.get("NextToken"):
                break
            request = {"NextToken": page["NextToken"]}
        return [
            (
                s["ShardId"],
                int(s["HashKeyRange"]["StartingHashKey"]),
                int(s["HashKeyRange"]["EndingHashKey"]),
            )
            for s in shards
            if "EndingSequenceNumber" not in s.get("SequenceNumberRange", {})
        ]

    def update_shard_count(self, request: dict[str, Any]) -> dict[str, Any]:
        errors = validation_errors(request)
        if errors:
            count = len(errors)
            noun = "error" if count == 1 else "errors"
            raise AwsError(
                "ValidationException", f"{count} validation {noun} detected: " + "; ".join(errors)
            )
        name = str(request["StreamName"])
        target = int(request["TargetShardCount"])
        summary = self._engine("DescribeStreamSummary", {"StreamName": name})[
            "StreamDescriptionSummary"
        ]
        if self._mode_of(name) != "PROVISIONED":
            raise AwsError(
                "ValidationException",
                "UpdateShardCount is only supported for streams in PROVISIONED capacity mode. "
                f"Stream {name} under account {ACCOUNT_ID} is ON_DEMAND.",
            )
        with self._lock:
            calls = self._streams.setdefault(name, _StreamCalls())
            if calls.running is not None or summary["StreamStatus"] != "ACTIVE":
                state = "UPDATING" if calls.running else summary["StreamStatus"]
                raise AwsError(
                    "ResourceInUseException",
                    f"Stream {name} under account {ACCOUNT_ID} not ACTIVE, instead in state "
                    f"{state}",
                )
            open_count = len(self._open_ranges(name))
            check_step_size(open_count, target)
            now = self._clock()
            horizon = now - L.KINESIS_UPDATE_SHARD_COUNT_WINDOW_S
            while calls.accepted and calls.accepted[0] <= horizon:
                calls.accepted.popleft()
            if len(calls.accepted) >= L.KINESIS_UPDATE_SHARD_COUNT_CALLS_PER_WINDOW:
                raise AwsError(
                    "LimitExceededException",
                    f"Rate exceeded for stream {name} under account {ACCOUNT_ID}: "
                    f"UpdateShardCount was called {len(calls.accepted)} times in the last 24 "
                    f"hours (at most {L.KINESIS_UPDATE_SHARD_COUNT_CALLS_PER_WINDOW} per "
                    "rolling 24-hour period).",
                )
            calls.accepted.append(now)
            reshard = Reshard(name, open_count, target, requested_at=time.time())
            calls.running = reshard
            self.history.append(reshard)
        threading.Thread(
            target=self._run, args=(calls, reshard), daemon=True, name=f"reshard-{name}"
        ).start()
        return {
            "StreamName": name,
            "CurrentShardCount": open_count,
            "TargetShardCount": target,
            "StreamARN": summary.get(
                "StreamARN", f"arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/{name}"
            ),
        }

    def _wait_active(self, name: str) -> None:
        deadline = time.monotonic() + STEP_ACTIVE_TIMEOUT_S
        while time.monotonic() < deadline:
            summary = self._engine("DescribeStreamSummary", {"StreamName": name})
            if summary["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
                return
            time.sleep(0.01)
        raise TimeoutError(f"stream {name} did not return to ACTIVE within a step")

    def _run(self, calls: _StreamCalls, reshard: Reshard) -> None:
        try:
            while True:
                step = next_step(self._open_ranges(reshard.stream), reshard.target)
                if step is None:
                    break
                operation, arguments = step
                self._engine(operation, {"StreamName": reshard.stream, **arguments})
                if operation == "SplitShard":
                    reshard.splits += 1
                else:
                    reshard.merges += 1
                self._wait_active(reshard.stream)
                self._on_step(reshard.stream)
        except Exception as exc:  # the stream must not stay UPDATING forever
            logger.exception("UpdateShardCount on %s failed", reshard.stream)
            reshard.error = str(exc)
        finally:
            reshard.finished_at = time.time()
            with self._lock:
                calls.running = None
            self._on_step(reshard.stream)


__all__ = ["Resharder", "check_step_size", "next_step", "validation_errors"]
