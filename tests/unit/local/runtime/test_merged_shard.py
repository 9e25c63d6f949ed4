"""A shard made by MergeShards has two parents: its records are read only after both."""

from __future__ import annotations

import threading
import time

from pipeline.local.runtime.esm import MappingSettings, ShardConsumer
from tests.unit.local.runtime.test_shard_consumer import RecordingFunction, ScriptedKinesis, _record


class Parent:
    def __init__(self) -> None:
        self.finished = threading.Event()


def test_a_merged_child_waits_for_its_adjacent_parent_too():
    parent, adjacent = Parent(), Parent()
    parent.finished.set()  # one parent done, the other still being read
    kinesis = ScriptedKinesis([{"Records": [_record(7)], "NextShardIterator": None}])
    function = RecordingFunction()
    child = ShardConsumer(
        kinesis,
        "s",
        "arn:aws:kinesis:us-east-1:000000000000:stream/s",
        "shardId-000000000004",
        MappingSettings(poll_interval_s=0.05),
        function,
        lambda message: None,
        None,
        parent,
        adjacent,
    )
    child.start()
    try:
        time.sleep(1.0)
        assert kinesis.iterator_requests == []  # not even an iterator while a parent reads
        assert function.batches == []
        adjacent.finished.set()
        deadline = time.monotonic() + 20
        while not child.finished.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert kinesis.iterator_requests[0]["ShardIteratorType"] == "TRIM_HORIZON"
        assert function.batches == [["7"]]
    finally:
        child.stop()
