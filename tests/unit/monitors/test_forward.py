import json

import boto3
import pytest
from moto import mock_aws

from monitors.forwarder.checkpoint import Checkpoint, read_checkpoint
from monitors.forwarder.forward import forward_once
from pipeline import metrics as m

from .fake_cloudwatch import FakeCloudWatch

START = 1_790_000_040  # a minute start
INGEST = {"service": "ingest", "environment": "test"}


class ScriptedSender:
    """Accepts at most `budget` points per pass (None: all), recording what it accepted."""

    def __init__(self):
        self.budget = None
        self.accepted = []

    def deliver(self, items, deadline):
        take = len(items) if self.budget is None else min(self.budget, len(items))
        self.accepted += [
            (
                item.block.minute,
                item.point["name"],
                json.dumps(item.point["attributes"], sort_keys=True),
            )
            for item in items[:take]
        ]
        return take


@pytest.fixture
def world():
    with mock_aws():
        cloudwatch = FakeCloudWatch()
        for minute in range(40):
            cloudwatch.put("Redline", "RecordsStored", INGEST, START + 60 * minute + 10, minute + 1)
        yield cloudwatch, boto3.client("ssm", region_name="us-east-1")


def test_first_pass_forwards_the_last_few_minutes_and_moves_the_checkpoint(world, settings_for):
    cloudwatch, ssm = world
    settings = settings_for(FORWARDER_FIRST_RUN_MINUTES="3")
    sender = ScriptedSender()
    result = forward_once(settings, cloudwatch, ssm, sender, now=START + 600 + 5, deadline=1e12)
    assert result.minutes_planned == result.minutes_delivered == 3
    assert result.get_metric_data_calls == 1
    minutes = sorted({minute for minute, _, _ in sender.accepted})
    assert minutes == [START + 420, START + 480, START + 540]
    assert read_checkpoint(ssm, settings.checkpoint_parameter) == Checkpoint(START + 600)
    stored = [a for a in sender.accepted if a[1] == m.RECORDS_STORED.newrelic_name]
    assert len(stored) == 3


def test_partial_delivery_resumes_mid_minute_without_doubling(world, settings_for):
    cloudwatch, ssm = world
    settings = settings_for(FORWARDER_FIRST_RUN_MINUTES="5")
    sender = ScriptedSender()
    now = START + 20 * 60
    sender.budget = 20  # less than two minutes of points (about 15 a minute here)
    first = forward_once(settings, cloudwatch, ssm, sender, now=now, deadline=1e12)
    checkpoint = read_checkpoint(ssm, settings.checkpoint_parameter)
    assert first.minutes_delivered == 1 and checkpoint.points_sent > 0
    sender.budget = 0  # New Relic down: nothing moves
    forward_once(settings, cloudwatch, ssm, sender, now=now + 60, deadline=1e12)
    assert read_checkpoint(ssm, settings.checkpoint_parameter) == checkpoint
    sender.budget = None
    last = forward_once(settings, cloudwatch, ssm, sender, now=now + 120, deadline=1e12)
    assert last.backlog_minutes == 0
    assert len(sender.accepted) == len(set(sender.accepted)), "a point was sent twice"
    minutes = sorted({minute for minute, _, _ in sender.accepted})
    assert minutes == list(range(START + 15 * 60, START + 22 * 60, 60))
    heartbeats = [a for a in sender.accepted if a[1] == m.FORWARDER_POINTS.newrelic_name]
    assert len(heartbeats) == len(minutes)


def test_a_long_gap_is_caught_up_over_several_passes(world, settings_for):
    cloudwatch, ssm = world
    settings = settings_for(FORWARDER_MAX_MINUTES_PER_RUN="10")
    ssm.put_parameter(
        Name=settings.checkpoint_parameter, Value=Checkpoint(START).to_json(), Type="String"
    )
    sender = ScriptedSender()
    now = START + 35 * 60
    backlogs = []
    for _ in range(4):
        backlogs.append(
            forward_once(settings, cloudwatch, ssm, sender, now=now, deadline=1e12).backlog_minutes
        )
    assert backlogs == [25, 15, 5, 0]
    minutes = sorted({minute for minute, _, _ in sender.accepted})
    assert minutes == list(range(START, START + 35 * 60, 60))
    stored = {
        minute: None
        for minute, name, _ in sender.accepted
        if name == m.RECORDS_STORED.newrelic_name
    }
    assert len(stored) == 35


def test_nothing_new_sends_nothing(world, settings_for):
    cloudwatch, ssm = world
    settings = settings_for()
    sender = ScriptedSender()
    forward_once(settings, cloudwatch, ssm, sender, now=START + 600, deadline=1e12)
    before = len(sender.accepted)
    result = forward_once(settings, cloudwatch, ssm, sender, now=START + 610, deadline=1e12)
    assert result.minutes_planned == 0 and len(sender.accepted) == before


class CrashingAfterOnePost(ScriptedSender):
    """Accepts the first POST of a pass, then the function dies (a timeout, a kill)."""

    def __init__(self, ssm, parameter):
        super().__init__()
        self.ssm, self.parameter = ssm, parameter
        self.checkpoints_seen = []

    def deliver(self, items, deadline):
        if self.checkpoints_seen or len(self.accepted):
            self.checkpoints_seen.append(read_checkpoint(self.ssm, self.parameter))
            raise TimeoutError("the invocation ran out of time")
        self.checkpoints_seen.append(None)
        return super().deliver(items, deadline)


def test_the_checkpoint_moves_after_each_accepted_post_so_a_crash_resends_nothing(
    world, settings_for
):
    cloudwatch, ssm = world
    settings = settings_for(FORWARDER_FIRST_RUN_MINUTES="5")
    now = START + 20 * 60
    crashing = CrashingAfterOnePost(ssm, settings.checkpoint_parameter)

    with pytest.raises(TimeoutError):
        forward_once(settings, cloudwatch, ssm, crashing, now, deadline=1e12, max_post_bytes=3000)

    accepted_first = list(crashing.accepted)
    assert accepted_first and crashing.checkpoints_seen[-1] is not None
    after = ScriptedSender()
    forward_once(settings, cloudwatch, ssm, after, now=now, deadline=1e12, max_post_bytes=3000)
    everything = accepted_first + after.accepted
    assert len(everything) == len(set(everything)), "a point was sent twice"
    minutes = sorted({minute for minute, _, _ in everything})
    assert minutes == list(range(START + 15 * 60, START + 20 * 60, 60))


def test_a_count_without_a_datapoint_is_not_sent_as_zero(world, settings_for):
    cloudwatch, ssm = world
    sender = ScriptedSender()

    forward_once(settings_for(), cloudwatch, ssm, sender, now=START + 600, deadline=1e12)

    names = {name for _, name, _ in sender.accepted}
    assert m.RECORDS_STORED.newrelic_name in names
    assert m.RECORDS_DEAD_LETTERED.newrelic_name not in names  # never put: absent, not 0


def test_both_queues_depth_and_oldest_age_are_forwarded_with_their_role(world, settings_for):
    cloudwatch, ssm = world
    queues = {"redline-dlq-test": (3, 120), "redline-ingest-failures-test": (2, 7200)}
    for queue, (depth, age) in queues.items():
        where = {"QueueName": queue}
        cloudwatch.put("AWS/SQS", "ApproximateNumberOfMessagesVisible", where, START + 9, depth)
        cloudwatch.put("AWS/SQS", "ApproximateAgeOfOldestMessage", where, START + 9, age)
    settings = settings_for(
        ON_FAILURE_QUEUE_URL="http://127.0.0.1:4566/000000000000/redline-ingest-failures-test",
        FORWARDER_FIRST_RUN_MINUTES="10",
    )
    sent = []

    class Recorder(ScriptedSender):
        def deliver(self, items, deadline):
            sent.extend(item.point for item in items)
            return len(items)

    forward_once(settings, cloudwatch, ssm, Recorder(), now=START + 600, deadline=1e12)

    sqs = {
        (point["name"], point["attributes"]["queue"]): point
        for point in sent
        if point["name"].startswith("aws.sqs.")
    }
    depth = next(s for s in m.SQS if s.name == "ApproximateNumberOfMessagesVisible")
    age = next(s for s in m.SQS if s.name == "ApproximateAgeOfOldestMessage")
    failures = "redline-ingest-failures-test"
    assert sqs[(age.newrelic_name, failures)]["value"]["max"] == 7200
    assert sqs[(depth.newrelic_name, failures)]["value"]["max"] == 2
    assert sqs[(age.newrelic_name, "redline-dlq-test")]["value"]["max"] == 120
    assert sqs[(depth.newrelic_name, failures)]["attributes"] == {
        "component": "ingest",
        "queue": failures,
        "queue.role": "on_failure",
    }
    assert sqs[(depth.newrelic_name, "redline-dlq-test")]["attributes"]["queue.role"] == (
        "dead_letter"
    )
