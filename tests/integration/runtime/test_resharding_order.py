"""Resharding under the event source mapping: nothing lost and each partition key stored in
the order it was produced across a doubling (parents split) and a halving (parents merged)."""

from __future__ import annotations

import pytest

from tests.integration.runtime.conftest import (
    client,
    environment,
    event,
    put_events,
    running_runtime,
    scan_items,
    wait_until,
)

pytestmark = pytest.mark.integration

KEYS = [f"key-{i}" for i in range(8)]
PER_PHASE = 240


def reshard(kinesis, stream: str, target: int) -> None:
    kinesis.update_shard_count(
        StreamName=stream, TargetShardCount=target, ScalingType="UNIFORM_SCALING"
    )


def wait_active(kinesis, stream: str) -> None:
    wait_until(
        lambda: (
            kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"][
                "StreamStatus"
            ]
            == "ACTIVE"
        ),
        60,
        "the stream back to ACTIVE",
        interval_s=0.05,
    )


def test_split_then_merge_loses_nothing_and_keeps_per_key_order(gateway, tmp_path):
    config = environment(
        tmp_path,
        {"stream": {"shard_count": 2}, "ingest": {"batch_size": 20}},
    )
    kinesis, dynamodb = client(gateway, "kinesis"), client(gateway, "dynamodb")
    counters = dict.fromkeys(KEYS, 0)

    def phase() -> list[dict]:
        events = []
        for i in range(PER_PHASE):
            key = KEYS[i % len(KEYS)]
            counters[key] += 1
            events.append(event(payload={"key": key, "n": counters[key]}))
        put_events(kinesis, config.stream.name, events, key=lambda e: e["payload"]["key"])
        return events

    with running_runtime(gateway, config, tmp_path) as runtime:
        produced = phase()
        reshard(kinesis, config.stream.name, 4)  # writes go on while the stream is UPDATING
        produced += phase()
        wait_active(kinesis, config.stream.name)
        produced += phase()
        reshard(kinesis, config.stream.name, 2)
        produced += phase()
        wait_active(kinesis, config.stream.name)
        produced += phase()
        items = wait_until(
            lambda: (
                (found := scan_items(dynamodb, config.table.name))
                and len(found) >= len(produced)
                and found
            ),
            120,
            f"the {len(produced)} records in the table",
        )
        consumers = sorted(runtime.mapping.consumers)
    shards = kinesis.list_shards(StreamName=config.stream.name)["Shards"]
    # THEN nothing was lost, every shard (2 + 4 children + 2 merged) was read, and per key the
    # store order is the production order
    assert sorted(i["event_id"] for i in items) == sorted(e["event_id"] for e in produced)
    assert len(shards) == 8
    assert consumers == sorted(s["ShardId"] for s in shards)
    by_key: dict[str, list[int]] = {}

    # records of one batch share a write; batches of a parent and its child never do
    def store_order(item: dict) -> tuple[float, int]:
        return float(item["stored_at"]), int(item["payload"]["n"]["N"])

    for item in sorted(items, key=store_order):
        payload = item["payload"]
        by_key.setdefault(payload["key"]["S"], []).append(int(payload["n"]["N"]))
    violations = {k: ns for k, ns in by_key.items() if ns != sorted(ns)}
    assert violations == {}
