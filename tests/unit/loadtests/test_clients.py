import json

import pytest
from botocore.exceptions import ClientError

from loadtests.clients import EventFactory, KinesisProducer, RetryPolicy
from loadtests.keys import uniform
from loadtests.pacing import Slot
from loadtests.timeline import PUT_RECORDS, Timeline
from pipeline.contracts import Event

THROTTLED = {
    "ErrorCode": "ProvisionedThroughputExceededException",
    "ErrorMessage": "Rate exceeded for shard shardId-000000000000 in stream s under account 000000000000.",
}


class FakeKinesis:
    """Answers PutRecords from a script: each entry says which positions to refuse."""

    def __init__(self, script):
        self.script = list(script)
        self.calls = []

    def put_records(self, StreamName, Records):
        self.calls.append(Records)
        refuse = self.script.pop(0) if self.script else set()
        if isinstance(refuse, Exception):
            raise refuse
        return {
            "FailedRecordCount": len(refuse),
            "Records": [
                THROTTLED if i in refuse else {"SequenceNumber": str(i), "ShardId": "shardId-0"}
                for i in range(len(Records))
            ],
        }


def make_producer(script, clock_values=None):
    fired, acked = [], []
    clock = iter(clock_values or [100.0 + i * 0.01 for i in range(1000)])
    producer = KinesisProducer(
        FakeKinesis(script),
        "stream",
        lambda **event: fired.append(event),
        Timeline(),
        lambda ids, at: acked.extend(ids),
        retry=RetryPolicy(max_attempts=3),
        sleep=lambda s: None,
        clock=lambda: next(clock),
    )
    return producer, fired, acked


def test_events_follow_the_contract_and_have_the_record_size():
    factory = EventFactory("run.p1", 512, 3, uniform())
    batch = factory.make(3, 1_700_000_000.5)
    for event_id, data, key in batch:
        assert len(data) == 512
        assert key == event_id
        event = Event.model_validate(json.loads(data))
        assert event.event_id == event_id and event.source == "redline-loadtest"
    assert len({event_id for event_id, _, _ in batch}) == 3


def test_throttled_entries_are_retried_counted_and_acknowledged_once_accepted():
    producer, fired, acked = make_producer([{1, 3}, {0}, set()])
    records = EventFactory("r.p", 200, 1, uniform()).make(5, 1.0)
    outcome = producer.send(Slot(99.5, 5), records)
    assert len(outcome.accepted_ids) == 5 and outcome.abandoned == 0
    assert outcome.throttled == 3
    assert sorted(acked) == sorted(r[0] for r in records)
    assert [e["name"] for e in fired] == ["PutRecords", "PutRecords retry", "PutRecords retry"]
    assert [e["exception"] is None for e in fired] == [False, False, True]
    assert fired[0]["response_time"] == pytest.approx(510, abs=1)  # from the intended start
    counts = producer.timeline.window([PUT_RECORDS], 99, 100).counts
    assert (counts["offered"], counts["accepted"], counts["throttled"], counts["retries"]) == (
        5,
        5,
        3,
        3,
    )


def test_records_still_refused_after_the_last_attempt_are_abandoned_not_acknowledged():
    producer, _, acked = make_producer([{0}, {0}, {0}])
    records = EventFactory("r.p", 200, 1, uniform()).make(2, 1.0)
    outcome = producer.send(Slot(100.0, 2), records)
    assert outcome.abandoned == 1
    assert acked == [records[1][0]]
    assert producer.timeline.window([PUT_RECORDS], 100, 101).counts["errors"] == 1


def test_a_call_refused_whole_with_a_throttling_error_is_retried():
    error = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}},
        "PutRecords",
    )
    producer, fired, acked = make_producer([error, set()])
    records = EventFactory("r.p", 200, 1, uniform()).make(2, 1.0)
    outcome = producer.send(Slot(100.0, 2), records)
    assert outcome.throttled == 2 and len(acked) == 2
    assert (
        str(fired[0]["exception"]) == "ProvisionedThroughputExceededException: whole call refused"
    )
