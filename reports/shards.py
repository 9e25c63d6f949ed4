"""Which shard ran hot, from Kinesis's shard-level metrics (kinesis_shards.csv).

A hot partition key shows as one shard taking far more than its even share of the stream's
records and most of its write throttles, while the stream as a whole is below its limit. The
verdict comes from what each shard took and refused (IncomingRecords and
WriteProvisionedThroughputExceeded per ShardId), never from the scenario's configured key
mix, so a run with no configured hot key that skews on one shard gets the same verdict.

Only the seconds in which some shard refused writes are weighed: a stream resharded during the
run has different shards open at different times, and a shard throttled while it was the only
one open is the stream's limit, not a hot key.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from pipeline import metrics as M
from reports import runfolder as rf

SKEW = 1.25  # a shard taking more than 1.25x its even share of the records is hot
THROTTLE_SHARE = 0.8  # ... and at least this share of the stream's write throttles


@dataclass(frozen=True)
class ShardLoad:
    shard_id: str
    incoming: float  # records accepted
    refused: float  # records refused by the shard's write limits

    @property
    def offered(self) -> float:
        return self.incoming + self.refused


@dataclass(frozen=True)
class HotShard:
    shard_id: str
    share: float  # of the records offered to the stream
    throttle_share: float  # of the stream's write throttles
    shards: int

    def evidence(self) -> str:
        return (
            f"shard {self.shard_id} took {self.share:.0%} of the stream's records (an even"
            f" share of {self.shards} shards is {1 / self.shards:.0%}) and"
            f" {self.throttle_share:.0%} of its write throttles (shard-level metrics)"
        )


def read_loads(path: Path, start: float | None = None, end: float | None = None):
    """Per-shard totals of kinesis_shards.csv rows within [start, end], over the seconds in
    which some shard refused writes (all of them when none did)."""
    per_second: dict[float, dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(lambda: [0.0, 0.0])
    )
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            stamp = float(row["timestamp"])
            if (start is not None and stamp < start) or (end is not None and stamp > end):
                continue
            if row["stat"] != "Sum":
                continue
            if row["metric"] == M.SHARD_INCOMING_RECORDS:
                per_second[stamp][row["shard_id"]][0] += float(row["value"])
            elif row["metric"] == M.SHARD_WRITE_EXCEEDED:
                per_second[stamp][row["shard_id"]][1] += float(row["value"])
    throttled = [
        second for second, shards in per_second.items() if any(v[1] > 0 for v in shards.values())
    ]
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for second in throttled or list(per_second):
        for shard, (incoming, refused) in per_second[second].items():
            totals[shard][0] += incoming
            totals[shard][1] += refused
    return [ShardLoad(shard, *values) for shard, values in sorted(totals.items())]


def hot_shard(loads: list[ShardLoad]) -> HotShard | None:
    offered = sum(s.offered for s in loads)
    refused = sum(s.refused for s in loads)
    if len(loads) < 2 or offered <= 0 or refused <= 0:
        return None
    top = max(loads, key=lambda s: s.refused)
    share, throttle_share = top.offered / offered, top.refused / refused
    if share > SKEW / len(loads) and throttle_share >= THROTTLE_SHARE:
        return HotShard(top.shard_id, share, throttle_share, len(loads))
    return None


def hot_shard_of_run(run_dir: Path) -> HotShard | None:
    return hot_shard(read_loads(run_dir / rf.KINESIS_SHARDS_CSV))
