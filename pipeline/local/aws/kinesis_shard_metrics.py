"""Kinesis enhanced (shard-level) metrics, as AWS publishes them with shard-level monitoring
on: one series per shard, dimensions StreamName and ShardId, stamped in the second the
gateway's shard windows counted (so they line up with the stream-level metrics)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from pipeline import metrics as M
from pipeline.local.aws.cloudwatch import MetricStore

NAMESPACE = "AWS/Kinesis"


def _dimensions(stream: str, shard_id: str) -> tuple[tuple[str, str], ...]:
    return (("ShardId", shard_id), ("StreamName", stream))  # sorted, as queries look them up


def record_writes(
    store: MetricStore,
    stream: str,
    shard_ids: Sequence[str],
    sizes: Sequence[int],
    results: Sequence[dict[str, Any] | None] | None,
    at: float,
) -> None:
    """One PutRecord(s) call: per shard, records and bytes accepted and records refused.
    `results` None: every record was accepted."""
    accepted: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # records, bytes, refused
    for index, shard_id in enumerate(shard_ids):
        entry = results[index] if results is not None else None
        tally = accepted[shard_id]
        if entry is not None and "ErrorCode" in entry:
            tally[2] += 1
        else:
            tally[0] += 1
            tally[1] += sizes[index]
    for shard_id, (records, nbytes, refused) in accepted.items():
        store.record_many(
            NAMESPACE,
            _dimensions(stream, shard_id),
            {
                M.SHARD_INCOMING_RECORDS: (records, "Count"),
                M.SHARD_INCOMING_BYTES: (nbytes, "Bytes"),
                M.SHARD_WRITE_EXCEEDED: (refused, "Count"),
            },
            at,
        )


def record_read_throttled(store: MetricStore, stream: str, shard_id: str) -> None:
    store.record_many(
        NAMESPACE, _dimensions(stream, shard_id), {M.SHARD_READ_EXCEEDED: (1, "Count")}
    )


def record_read(
    store: MetricStore, stream: str, shard_id: str, records: int, nbytes: int, age_ms: float
) -> None:
    dimensions = _dimensions(stream, shard_id)
    store.record_many(
        NAMESPACE,
        dimensions,
        {M.SHARD_OUTGOING_RECORDS: (records, "Count"), M.SHARD_OUTGOING_BYTES: (nbytes, "Bytes")},
    )
    store.record(NAMESPACE, M.SHARD_ITERATOR_AGE, dimensions, age_ms, "Milliseconds")
