"""Replay the on-failure queue: `python -m pipeline.replay --env <env> [--target local|aws]`.

The event source mapping's on-failure destination holds pointers, not records: one message
per batch it gave up on (shard, first and last sequence number, batch size). For each message
this reads the batch's records back from the stream (while the stream still retains them),
runs them through the ingest handler's own logic (`IngestProcessor` + `classify_record`: each
record is stored or dead-lettered with its reason), and deletes the message only when every
record of the batch is accounted for. Writes are idempotent by event_id, so a second run
(or a run after a crash) stores nothing twice; a record dead-lettered again gets a second
dead-letter message. What cannot be replayed (records past the stream's retention, records
the handler still could not store) is reported and its message left in the queue.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from botocore.exceptions import BotoCoreError, ClientError

from pipeline import aws_limits as limits
from pipeline import metrics as metric_names
from pipeline.ingest.processor import IngestProcessor
from pipeline.ingest.records import classify_record
from pipeline.local.runtime.esm import to_stream_record

# GetRecords calls one batch may take before it is reported as not fully read.
MAX_GET_RECORDS_CALLS_PER_BATCH = 50
SQS_RECEIVE_MAX_MESSAGES = 10
# A replayed batch's messages stay invisible this long while its records are re-run.
VISIBILITY_TIMEOUT_S = 120
EXIT_OK, EXIT_NOT_ALL_REPLAYED, EXIT_USAGE = 0, 1, 2


@dataclass
class BatchPointer:
    """One on-failure message's KinesisBatchInfo."""

    shard_id: str
    start_sequence: str
    end_sequence: str
    batch_size: int
    stream_name: str

    @classmethod
    def from_message(cls, body: str) -> BatchPointer:
        """ValueError naming what is missing when the body is not Lambda's on-failure record."""
        try:
            info = json.loads(body)["KinesisBatchInfo"]
            stream_arn = info["streamArn"]
            return cls(
                shard_id=info["shardId"],
                start_sequence=info["startSequenceNumber"],
                end_sequence=info["endSequenceNumber"],
                batch_size=int(info["batchSize"]),
                stream_name=stream_arn.split(":stream/", 1)[1],
            )
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise ValueError(
                f"not a Kinesis on-failure record (KinesisBatchInfo with shardId, "
                f"startSequenceNumber, endSequenceNumber, batchSize, streamArn): {exc!r}"
            ) from None


@dataclass
class ReplayReport:
    messages: int = 0
    messages_deleted: int = 0
    records_expected: int = 0
    records_read: int = 0
    records_stored: int = 0
    records_dead_lettered: int = 0
    records_not_replayed: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def replayed_share(self) -> float:
        if not self.records_expected:
            return 1.0
        return (self.records_stored + self.records_dead_lettered) / self.records_expected

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "replayed_share": round(self.replayed_share, 6)}


class _Tally:
    """The ingest processor's metrics, counted here instead of printed as EMF."""

    def __init__(self) -> None:
        self.totals: Counter[str] = Counter()

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.totals[name] += value


def read_batch(kinesis: Any, pointer: BatchPointer) -> tuple[list[dict[str, Any]], str | None]:
    """The batch's records from the stream, and why not all of them could be read (or None)."""
    try:
        iterator = kinesis.get_shard_iterator(
            StreamName=pointer.stream_name,
            ShardId=pointer.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            StartingSequenceNumber=pointer.start_sequence,
        )["ShardIterator"]
    except ClientError as exc:
        return [], f"the stream no longer has the batch ({exc.response['Error']['Code']})"
    end = int(pointer.end_sequence)
    records: list[dict[str, Any]] = []
    for _ in range(MAX_GET_RECORDS_CALLS_PER_BATCH):
        if iterator is None:
            break
        # Ask for no more than the batch still needs: GetRecords counts against the shard's
        # 2 MiB/s and 5 calls/s, shared with the event source mapping.
        wanted = max(
            1, min(pointer.batch_size - len(records), limits.KINESIS_GET_RECORDS_MAX_RECORDS)
        )
        response = kinesis.get_records(ShardIterator=iterator, Limit=wanted)
        for record in response["Records"]:
            if int(record["SequenceNumber"]) > end:
                return _checked(records, pointer)
            records.append(record)
        iterator = response.get("NextShardIterator")
        if not response["Records"] and not response.get("MillisBehindLatest"):
            break
    return _checked(records, pointer)


def _checked(
    records: list[dict[str, Any]], pointer: BatchPointer
) -> tuple[list[dict[str, Any]], str | None]:
    if not records or records[0]["SequenceNumber"] != pointer.start_sequence:
        return records, (
            f"the stream no longer has record {pointer.start_sequence} of {pointer.shard_id} "
            "(past its retention period)"
        )
    if records[-1]["SequenceNumber"] != pointer.end_sequence:
        return records, (
            f"read {len(records)} of {pointer.batch_size} records of {pointer.shard_id} up to "
            f"{records[-1]['SequenceNumber']}, not to {pointer.end_sequence}"
        )
    return records, None


def replay_batch(
    records: list[dict[str, Any]], pointer: BatchPointer, stream_arn: str, processor_factory
) -> tuple[int, int, int]:
    """(stored, dead-lettered, not accounted for) after running the records through ingest."""
    event = {"Records": [to_stream_record(r, pointer.shard_id, stream_arn).event for r in records]}
    processor, tally = processor_factory()
    response = process_partial_response(event, classify_record, processor, None)
    failed = len(response.get("batchItemFailures", []))
    stored = int(tally.totals[metric_names.RECORDS_STORED.name])
    dead_lettered = int(tally.totals[metric_names.RECORDS_DEAD_LETTERED.name])
    return stored, dead_lettered, failed


def replay_queue(
    *,
    sqs: Any,
    kinesis: Any,
    dynamodb: Any,
    on_failure_url: str,
    table_name: str,
    dead_letter_url: str,
    max_messages: int | None = None,
) -> ReplayReport:
    """Replay every message the on-failure queue hands out in this pass (at most max_messages)."""
    report = ReplayReport()
    started = time.monotonic()

    def processor_factory() -> tuple[IngestProcessor, _Tally]:
        tally = _Tally()
        processor = IngestProcessor(
            table_name=table_name,
            dlq_url=dead_letter_url,
            dynamodb=dynamodb,
            sqs=sqs,
            metrics=tally,  # type: ignore[arg-type]  # add_metric is all it calls
        )
        return processor, tally

    while max_messages is None or report.messages < max_messages:
        wanted = SQS_RECEIVE_MAX_MESSAGES
        if max_messages is not None:
            wanted = min(wanted, max_messages - report.messages)
        received = sqs.receive_message(
            QueueUrl=on_failure_url,
            MaxNumberOfMessages=wanted,
            VisibilityTimeout=VISIBILITY_TIMEOUT_S,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not received:
            break
        for message in received:
            report.messages += 1
            _replay_message(message, report, sqs, kinesis, on_failure_url, processor_factory)
    report.seconds = time.monotonic() - started
    return report


def _replay_message(message, report, sqs, kinesis, on_failure_url, processor_factory) -> None:
    try:
        pointer = BatchPointer.from_message(message["Body"])
    except ValueError as exc:
        report.problems.append(f"message {message['MessageId']}: {exc}; left in the queue")
        return
    report.records_expected += pointer.batch_size
    stream_arn = json.loads(message["Body"])["KinesisBatchInfo"]["streamArn"]
    try:
        records, problem = read_batch(kinesis, pointer)
    except (ClientError, BotoCoreError) as exc:
        records, problem = [], f"reading the stream failed: {exc}"
    report.records_read += len(records)
    stored = dead_lettered = failed = 0
    if records:
        stored, dead_lettered, failed = replay_batch(
            records, pointer, stream_arn, processor_factory
        )
    report.records_stored += stored
    report.records_dead_lettered += dead_lettered
    missing = pointer.batch_size - stored - dead_lettered
    report.records_not_replayed += max(0, missing)
    if problem is None and failed:
        problem = f"{failed} records were neither stored nor dead-lettered (see the logs)"
    if problem is None and missing > 0:
        problem = f"{missing} of {pointer.batch_size} records not accounted for"
    where = f"{pointer.shard_id} {pointer.start_sequence}..{pointer.end_sequence}"
    if problem is not None:
        report.problems.append(f"{where}: {problem}; message left in the queue")
        return
    sqs.delete_message(QueueUrl=on_failure_url, ReceiptHandle=message["ReceiptHandle"])
    report.messages_deleted += 1


# ---------------------------------------------------------------------- command line


def _clients(target: str, environment: str, state_dir: Path) -> dict[str, Any]:
    import boto3

    from pipeline.clients import handler_client_config
    from pipeline.config import load_environment

    config = load_environment(environment)
    kwargs: dict[str, Any] = {"region_name": config.aws_region}
    if target == "local":
        from pipeline.local.stack import read_stack

        handle = read_stack(state_dir)
        if handle is None:
            raise SystemExit(
                f"replay: no local stack is running (no {state_dir}/stack.json): `make up` first"
            )
        kwargs["endpoint_url"] = handle.aws_endpoint_url
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(name, "test")  # the local stack takes any; never real ones
    client_config = handler_client_config(read_timeout_s=10)
    sqs = boto3.client("sqs", config=client_config, **kwargs)
    return {
        "sqs": sqs,
        "kinesis": boto3.client("kinesis", config=client_config, **kwargs),
        "dynamodb": boto3.client("dynamodb", config=client_config, **kwargs),
        "on_failure_url": sqs.get_queue_url(QueueName=config.queues.on_failure_name)["QueueUrl"],
        "dead_letter_url": sqs.get_queue_url(QueueName=config.queues.dead_letter_name)["QueueUrl"],
        "table_name": config.table.name,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.replay",
        description="Replay the ingest on-failure queue: re-read each batch from the stream "
        "and store or dead-letter every record; delete a message only when all its records "
        "are accounted for.",
    )
    parser.add_argument("--env", default="local", help="environment file name (default local)")
    parser.add_argument(
        "--target",
        choices=("local", "aws"),
        default=None,
        help="local (the stack `make up` started) or aws (the standard credential chain); "
        "default: local for --env local, aws otherwise",
    )
    parser.add_argument("--max-messages", type=int, default=None, help="stop after this many")
    parser.add_argument("--state-dir", default=".redline", help="the local stack's state folder")
    args = parser.parse_args(argv)
    target = args.target or ("local" if args.env == "local" else "aws")
    if args.max_messages is not None and args.max_messages < 1:
        parser.error("--max-messages must be 1 or more")
    try:
        clients = _clients(target, args.env, Path(args.state_dir))
    except (ClientError, BotoCoreError) as exc:
        print(f"replay: cannot reach the queues of {args.env} on {target}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    report = replay_queue(max_messages=args.max_messages, **clients)
    print(json.dumps(report.as_dict(), indent=2))
    if report.problems:
        print(f"replay: {len(report.problems)} batches not fully replayed:", file=sys.stderr)
        for problem in report.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_NOT_ALL_REPLAYED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
