"""Nothing lost under overload (`make bench`, `python -m bench.bench_loss`).

Part 1: a 1-shard, 200 WCU pipeline on the local stack (the gateway's limits on) gets 3x what
its table takes for `--seconds` (default 300), 1% of the records poison of every kind the
ingest handler dead-letters. After the load, the stack drains; `make replay`'s logic turns
what the event source mapping gave up on back into stored or dead-lettered records. The
audit, from what the stack holds (table scan, dead-letter queue read back), prints
produced, stored, dead-lettered by reason, replayed and lost = produced - stored -
dead-lettered (unique records).

Part 2: replay speed: `--replay-records` (default 10,000) records on the stream and their
on-failure messages (100 records a batch), replayed; prints records/s and the share replayed.
Everything runs on this machine at once: the figures are what one machine does, not AWS.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import boto3
from botocore.config import Config

from bench.bench_runtime import NOOP_HANDLER
from pipeline.config import load_environment, parse_environment, to_tfvars
from pipeline.local.runtime.esm import on_failure_message, to_stream_record
from pipeline.local.stack import start_stack, stop_stack
from pipeline.replay import replay_queue

NAME = "redline-events-loss"
WCU = 200
OVERLOAD = 3
POISON_SHARE = 0.01
REPLAY_BATCH = 100
REPLAY_WCU = 40_000


def poison_records() -> list[tuple[str, bytes]]:
    """(expected reason, data) for every kind of poison."""

    def event(**changes) -> bytes:
        body = {
            "event_id": f"poison-{uuid.uuid4().hex}",
            "type": "bench",
            "source": "bench",
            "produced_at": time.time(),
            "payload": {"n": 1},
        }
        body.update(changes)
        return json.dumps(body).encode()

    deep: dict = {"n": 1}
    for _ in range(40):
        deep = {"d": deep}
    return [
        ("not_utf8", b'{"event_id": "\xff"}'),
        ("not_json", b"{not json"),
        ("contract_violation", event(produced_at="yesterday")),
        ("not_storable", event(payload={"": 1})),
        ("not_storable", event(payload={"a": [{"": "x"}]})),
        ("not_storable", event(payload={"k" * 70_000: 1})),
        ("not_storable", event(payload=deep)),
        ("not_storable", event(payload={"n": 10**40 + 1})),
        ("item_too_large", event(payload={"blob": "x" * 420_000})),
        ("conflict", b""),  # made in produce(): the last good event's id, other content
    ]


def good_record(event_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "event_id": event_id or f"good-{uuid.uuid4().hex}",
            "type": "bench",
            "source": "bench",
            "produced_at": time.time(),
            "payload": {"blob": "x" * 300},
        }
    ).encode()


def environment_file(directory: Path, wcu: int = WCU) -> Path:
    data = to_tfvars(load_environment("local"))
    data["environment"] = "local-loss"  # API auth NONE is for local environments only
    data["stream"].update(name=NAME, shard_count=1)
    data["table"].update(name=NAME, write_capacity=wcu, read_capacity=1000)
    data["table"]["type_index"].update(write_capacity=wcu, read_capacity=1000)
    data["ingest"].update(batch_size=100, reserved_concurrency=-1)
    data["queues"].update(dead_letter_name="redline-dlq-loss", on_failure_name="redline-fail-loss")
    parse_environment(data)
    path = directory / "loss.tfvars.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def client(service: str, endpoint: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"mode": "standard", "max_attempts": 10}),
    )


def put_raw(kinesis, stream: str, records: list[bytes]) -> list[str]:
    """PutRecords until every record is taken; returns their sequence numbers."""
    sequences: dict[int, str] = {}
    pending = list(range(len(records)))
    while pending:
        response = kinesis.put_records(
            StreamName=stream,
            Records=[{"Data": records[i], "PartitionKey": uuid.uuid4().hex} for i in pending],
        )
        retry = []
        for index, entry in zip(pending, response["Records"], strict=True):
            if "SequenceNumber" in entry:
                sequences[index] = entry["SequenceNumber"]
            else:
                retry.append(index)
        pending = retry
        if pending:
            time.sleep(0.1)
    return [sequences[i] for i in range(len(records))]


def produce(kinesis, rate: int, seconds: int) -> tuple[int, Counter, float]:
    """`rate` records/s for `seconds`, 1% poison; (good produced, poison by reason, achieved)."""
    poisons = poison_records()
    every = round(1 / POISON_SHARE)
    good, poison, count = 0, Counter(), 0
    last_good = ""
    start = time.monotonic()
    for tick in range(seconds * 10):
        delay = start + tick / 10 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        batch = []
        for _ in range(max(1, rate // 10)):
            count += 1
            if count % every == 0:
                reason, data = poisons[(count // every) % len(poisons)]
                if reason == "conflict":  # a different event under a stored event_id
                    data = json.dumps(
                        {**json.loads(good_record(last_good)), "payload": {"other": True}}
                    ).encode()
                poison[reason] += 1
                batch.append(data)
            else:
                good += 1
                last_good = f"good-{uuid.uuid4().hex}"
                batch.append(good_record(last_good))
        put_raw(kinesis, NAME, batch)
    return good, poison, (good + sum(poison.values())) / (time.monotonic() - start)


def count_items(dynamodb) -> int:
    total, kwargs = 0, {"TableName": NAME, "Select": "COUNT", "ConsistentRead": True}
    while True:
        page = dynamodb.scan(**kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def read_dead_letters(sqs, url: str) -> dict[str, str]:
    """sequence number -> reason of every dead-letter message (read back and deleted)."""
    letters: dict[str, str] = {}
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return letters
        for message in batch:
            body = json.loads(message["Body"])
            letters[body["sequence_number"]] = body["reason"]
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def wait_settled(dynamodb, sqs, urls: list[str], timeout_s: float) -> None:
    """Until the table count and the queue depths stop changing for 20 s."""
    last, stable_since, deadline = None, time.monotonic(), time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        depths = [
            sqs.get_queue_attributes(
                QueueUrl=u,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            for u in urls
        ]
        now = (count_items(dynamodb), json.dumps(depths, sort_keys=True))
        if now != last:
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= 20:
            return
        time.sleep(2)
    print(f"note: the stack had not settled after {timeout_s:.0f} s")


def overload(seconds: int, drain_timeout_s: float) -> None:
    with tempfile.TemporaryDirectory(prefix="redline-bench-loss-") as directory:
        env = environment_file(Path(directory))
        stack = start_stack(env=env, aws_port=0, api_port=0, lambda_port=0, state_dir=directory)
        try:
            endpoint = stack.aws_endpoint_url
            kinesis, dynamodb, sqs = (client(s, endpoint) for s in ("kinesis", "dynamodb", "sqs"))
            dlq = sqs.get_queue_url(QueueName="redline-dlq-loss")["QueueUrl"]
            failures = sqs.get_queue_url(QueueName="redline-fail-loss")["QueueUrl"]
            item_bytes = len(good_record()) + 150
            capacity = WCU // max(1, -(-item_bytes // 1024))
            rate = OVERLOAD * capacity
            good, poison, achieved = produce(kinesis, rate, seconds)
            wait_settled(dynamodb, sqs, [failures], drain_timeout_s)
            replay = replay_queue(
                sqs=sqs,
                kinesis=kinesis,
                dynamodb=dynamodb,
                on_failure_url=failures,
                table_name=NAME,
                dead_letter_url=dlq,
            )
            stored = count_items(dynamodb)
            letters = read_dead_letters(sqs, dlq)
        finally:
            stop_stack(directory)
    produced = good + sum(poison.values())
    reasons = Counter(letters.values())
    poison_in_dlq = sum(min(reasons[r], n) for r, n in poison.items())
    lost = produced - stored - len(letters)
    print(
        f"overload: 1 shard, table {WCU} WCU (~{capacity} items/s), {rate} records/s offered "
        f"({OVERLOAD}x) for {seconds} s, achieved {achieved:.0f}/s"
    )
    print(
        f"produced {produced} ({good} good, {sum(poison.values())} poison: {dict(poison)}); "
        f"stored {stored}; dead-lettered {len(letters)} {dict(reasons)}; "
        f"on-failure batches replayed {replay.messages_deleted} of {replay.messages} "
        f"({replay.records_stored} stored, {replay.records_dead_lettered} dead-lettered)"
    )
    print(
        f"lost {lost}; poison in the DLQ with its reason {poison_in_dlq} of "
        f"{sum(poison.values())}; stored = produced - poison: {stored == good}"
    )


def replay_speed(records: int) -> None:
    with tempfile.TemporaryDirectory(prefix="redline-bench-replay-") as directory:
        # The table does not throttle here, and the mapping's handler stores nothing: the
        # figure is the replay's own rate.
        env = environment_file(Path(directory), wcu=REPLAY_WCU)
        stack = start_stack(
            env=env,
            aws_port=0,
            api_port=0,
            lambda_port=0,
            state_dir=directory,
            handlers={"ingest": NOOP_HANDLER},
        )
        try:
            endpoint = stack.aws_endpoint_url
            kinesis, dynamodb, sqs = (client(s, endpoint) for s in ("kinesis", "dynamodb", "sqs"))
            dlq = sqs.get_queue_url(QueueName="redline-dlq-loss")["QueueUrl"]
            failures = sqs.get_queue_url(QueueName="redline-fail-loss")["QueueUrl"]
            shard = kinesis.list_shards(StreamName=NAME)["Shards"][0]["ShardId"]
            arn = kinesis.describe_stream_summary(StreamName=NAME)["StreamDescriptionSummary"][
                "StreamARN"
            ]
            for start in range(0, records, 500):
                size = min(500, records - start)
                put_raw(kinesis, NAME, [good_record() for _ in range(size)])
            iterator = kinesis.get_shard_iterator(
                StreamName=NAME, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            raw: list[dict] = []
            while len(raw) < records:
                page = kinesis.get_records(ShardIterator=iterator, Limit=1000)
                raw += page["Records"]
                iterator = page["NextShardIterator"]
            batch_records = [to_stream_record(r, shard, arn) for r in raw[:records]]
            for start in range(0, records, REPLAY_BATCH):
                batch = batch_records[start : start + REPLAY_BATCH]
                message = on_failure_message(
                    batch, shard, arn, "bench", "RetryAttemptsExhausted", 1, None
                )
                sqs.send_message(QueueUrl=failures, MessageBody=json.dumps(message))
            report = replay_queue(
                sqs=sqs,
                kinesis=kinesis,
                dynamodb=dynamodb,
                on_failure_url=failures,
                table_name=NAME,
                dead_letter_url=dlq,
            )
        finally:
            stop_stack(directory)
    print(
        f"replay of {report.records_expected} records in {report.messages} on-failure "
        f"messages: {report.seconds:.1f} s, "
        f"{report.records_expected / report.seconds:.0f} records/s; replayed share "
        f"{report.replayed_share:.4f}; messages deleted {report.messages_deleted}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=300, help="overload duration")
    parser.add_argument("--drain-timeout", type=float, default=1800)
    parser.add_argument("--replay-records", type=int, default=10_000)
    parser.add_argument("--skip-overload", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_overload:
        overload(args.seconds, args.drain_timeout)
    replay_speed(args.replay_records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
