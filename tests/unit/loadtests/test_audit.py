import base64
import json

import boto3
import pytest
from moto import mock_aws

from loadtests import audit

REGION = "us-east-1"


def test_compare_counts_lost_and_unexpected():
    result = audit.compare({"a", "b", "c", "d"}, stored={"a", "b", "x"}, dead_lettered={"c"})
    assert result.to_dict() | {} == {
        "produced": 4,
        "stored": 2,
        "dead_lettered": 1,
        "lost": 1,
        "unexpected": 1,
        "lost_sample": ["d"],
        "unexpected_sample": ["x"],
        "drained": True,
        "drain_wait_s": 0.0,
    }


def test_dlq_bodies_give_the_event_id_or_it_is_read_from_the_data():
    assert audit.event_id_of(json.dumps({"event_id": "e1", "data": ""})) == "e1"
    data = base64.b64encode(json.dumps({"event_id": "e2"}).encode()).decode()
    assert audit.event_id_of(json.dumps({"event_id": None, "data": data})) == "e2"
    assert audit.event_id_of("not json") is None


def test_acknowledged_ids_are_read_from_every_process(tmp_path):
    (tmp_path / "acked-1.txt").write_text("r.a\nr.b\n")
    (tmp_path / "acked-2.txt").write_text("r.c\n")
    ids, tails = audit.read_acked(tmp_path)
    assert ids == {"r.a", "r.b", "r.c"}
    assert sorted(tails) == ["r.a", "r.b", "r.c"]


@pytest.fixture
def aws():
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="events",
            KeySchema=[{"AttributeName": "event_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "event_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        yield dynamodb, sqs, queue_url


def test_table_and_dlq_are_read_for_this_run_only(aws):
    dynamodb, sqs, queue_url = aws
    for event_id in ("run1.p.1", "run1.p.2", "run0.p.9"):
        dynamodb.put_item(TableName="events", Item={"event_id": {"S": event_id}})
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"event_id": "run1.p.3"}))
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"event_id": "run0.p.8"}))
    assert audit.stored_ids(dynamodb, "events", "run1.") == {"run1.p.1", "run1.p.2"}
    assert audit.dead_lettered_ids(sqs, queue_url, "run1.") == {"run1.p.3"}
    # the audit leaves the messages in the queue
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "2"


def test_waiting_for_the_consumer_is_bounded(aws):
    dynamodb, _, _ = aws
    dynamodb.put_item(TableName="events", Item={"event_id": {"S": "run1.p.1"}})
    assert audit.wait_until_stored(dynamodb, "events", ["run1.p.1"], 5, sleep=lambda s: None)[0]
    drained, _ = audit.wait_until_stored(
        dynamodb, "events", ["run1.p.1", "run1.p.404"], 0.0, sleep=lambda s: None
    )
    assert not drained


def test_summary_says_when_lost_events_may_still_be_on_the_stream(tmp_path, capsys):
    # GIVEN an audit that gave up waiting for the consumer with events not yet stored
    from loadtests.audit import AuditResult
    from loadtests.cli import print_summary

    audit = AuditResult(
        produced=100,
        stored=54,
        dead_lettered=0,
        lost=46,
        unexpected=0,
        drained=False,
        drain_wait_s=60.0,
    )
    summary = {"passed": False, "gates": [], "knee_rps": None}
    # WHEN the summary block is printed
    print_summary(tmp_path, summary, audit, None)
    # THEN the user is told the loss may be a consumer still behind, and what to do
    out = capsys.readouterr().out
    assert "lost 46" in out
    assert "the consumer had not caught up after 60 s of waiting" in out
    assert "raise --drain-timeout" in out


def test_summary_has_no_drain_warning_when_the_consumer_caught_up(tmp_path, capsys):
    from loadtests.audit import AuditResult
    from loadtests.cli import print_summary

    audit = AuditResult(produced=10, stored=10, dead_lettered=0, lost=0, unexpected=0)
    print_summary(tmp_path, {"passed": True, "gates": [], "knee_rps": None}, audit, None)
    assert "had not caught up" not in capsys.readouterr().out


class _Table:
    """A table the consumer fills `per_poll` ids at a time (None: the consumer is stuck)."""

    def __init__(self, ids, per_poll):
        self.pending, self.per_poll, self.stored = list(ids), per_poll, set()

    def batch_get_item(self, RequestItems):
        if self.per_poll:
            self.stored.update(self.pending[: self.per_poll])
            del self.pending[: self.per_poll]
        ((table, request),) = RequestItems.items()
        items = [k for k in request["Keys"] if k["event_id"]["S"] in self.stored]
        return {"Responses": {table: items}}


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_the_drain_waits_for_a_consumer_working_through_a_backlog_beyond_the_timeout():
    # GIVEN a consumer that stores 10 of 500 sampled ids per poll (50 polls, 2 s each)
    ids = [f"run1.p.{n}" for n in range(500)]
    clock = _Clock()
    lines = []
    # WHEN the audit waits with a 10 s stall timeout
    drained, waited = audit.wait_until_stored(
        _Table(ids, 10), "events", ids, 10.0, sleep=clock.sleep, clock=clock, report=lines.append
    )
    # THEN it waits on past the timeout while the consumer makes progress, and says so
    assert drained and waited > 10.0
    assert lines and "sampled events stored" in lines[0]


def test_the_drain_gives_up_on_a_stuck_consumer_and_at_its_limit():
    ids = [f"run1.p.{n}" for n in range(50)]
    clock = _Clock()
    drained, waited = audit.wait_until_stored(
        _Table(ids, 0), "events", ids, 10.0, sleep=clock.sleep, clock=clock
    )
    assert not drained and 10.0 <= waited < 13.0
    clock = _Clock()
    drained, waited = audit.wait_until_stored(
        _Table(ids, 1), "events", ids, 10.0, sleep=clock.sleep, clock=clock, limit_s=20.0
    )
    assert not drained and 20.0 <= waited < 23.0


def test_the_drain_sample_spreads_over_each_process_run(tmp_path):
    (tmp_path / "acked-1.txt").write_text("".join(f"r.{n}\n" for n in range(10_000)))
    ids, sample = audit.read_acked(tmp_path)
    assert len(ids) == 10_000
    assert sample[0] == "r.0" and sample[-1] == "r.9999"
    assert "r.5000" in sample or "r.5025" in sample or "r.4975" in sample
    assert len(sample) <= audit.DRAIN_SPREAD + audit.DRAIN_SAMPLE + 1


def test_summary_lists_each_reshard_and_the_order_check(tmp_path, capsys):
    from loadtests.cli import print_summary

    summary = {
        "passed": True,
        "gates": [],
        "knee_rps": None,
        "resharding": {
            "reshards": [
                {"from": 1, "to": 2, "seconds_to_active": 0.21, "error": None},
                {"from": 2, "to": 4, "seconds_to_active": None, "error": "LimitExceededException"},
            ],
            "order": {"violations": 0, "items": 72389},
        },
    }
    print_summary(tmp_path, summary, None, None)
    out = capsys.readouterr().out
    assert (
        "resharding: 1 -> 2 shards in 0.21 s, 2 -> 4 shards failed: LimitExceededException;"
        " per-key order violations 0 over 72389 records"
    ) in out
