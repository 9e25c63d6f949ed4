"""The Kinesis event source mapping: Lambda's poller, per shard, with AWS's semantics.

aws-limits.md states the rules this follows. In short:
- each shard is polled about once a second, and again right away (at most 5 calls/s, the
  shard's read limit) while the poller is behind; GetRecords goes through the gateway, so it
  counts against the shard's read limits and a throttled call (ReadProvisionedThroughputExceeded)
  makes the poller back off;
- records are hashed by partition key to `parallelization_factor` slots; each slot runs one
  batch at a time, so the records of one key are never processed out of order;
- a slot invokes when the batch is full (batch size or the 6 MB payload cap) or the batching
  window has passed since its first waiting record;
- a throttled invocation (reserved concurrency) is retried without spending a retry attempt;
- a function error fails the batch: with bisect on, the batch is split in two and each half
  retried (a split is not a retry); otherwise the batch is retried;
- a partial batch response restarts at the lowest failed sequence number; an empty or malformed
  itemIdentifier fails the whole batch;
- records past the maximum record age, or batches past the maximum retry attempts, are skipped
  and their batch info (not the records) is sent to the on-failure destination (SQS).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline import aws_limits as limits
from pipeline.local.runtime.functions import REGION, InvokeResult, Throttled

logger = logging.getLogger(__name__)

# The poller's own pacing: at most the shard's 5 GetRecords calls/s while behind.
BEHIND_POLL_INTERVAL_S = 1.0 / limits.KINESIS_SHARD_READ_CALLS_PER_S
READ_THROTTLE_BACKOFF_S = (0.5, 5.0)
THROTTLE_BACKOFF_S = (0.05, 1.0)
# Per-record overhead of the event JSON around the base64 data (keys, ARNs, ids).
RECORD_EVENT_OVERHEAD_BYTES = 400
ON_FAILURE_RETRY_ATTEMPTS_EXHAUSTED = "RetryAttemptsExhausted"
ON_FAILURE_RECORD_AGE_EXCEEDED = "RecordAgeExceeded"


@dataclass(frozen=True)
class MappingSettings:
    batch_size: int = 100
    batching_window_s: float = 0.0
    parallelization_factor: int = 1
    maximum_retry_attempts: int = -1
    bisect_batch_on_function_error: bool = False
    maximum_record_age_s: int = -1
    starting_position: str = "TRIM_HORIZON"
    report_batch_item_failures: bool = True
    on_failure_queue_url: str | None = None
    max_payload_bytes: int = limits.LAMBDA_MAX_PAYLOAD_BYTES
    poll_interval_s: float = limits.LAMBDA_ESM_POLL_INTERVAL_S

    @classmethod
    def from_ingest_config(cls, ingest, on_failure_queue_url: str | None) -> MappingSettings:
        return cls(
            batch_size=ingest.batch_size,
            batching_window_s=float(ingest.maximum_batching_window_seconds),
            parallelization_factor=ingest.parallelization_factor,
            maximum_retry_attempts=ingest.maximum_retry_attempts,
            bisect_batch_on_function_error=ingest.bisect_batch_on_function_error,
            maximum_record_age_s=ingest.maximum_record_age_seconds,
            starting_position=str(ingest.starting_position.value),
            on_failure_queue_url=on_failure_queue_url,
        )


@dataclass
class StreamRecord:
    """One record as the poller holds it, with its Lambda event form built once."""

    sequence_number: str
    partition_key: str
    arrival: float  # epoch seconds
    event: dict[str, Any]
    size: int  # bytes it adds to the invocation payload


def to_stream_record(raw: dict[str, Any], shard_id: str, stream_arn: str) -> StreamRecord:
    """A GetRecords entry (boto3 form) as the record of a Lambda Kinesis event."""
    arrival_value = raw["ApproximateArrivalTimestamp"]
    arrival = (
        arrival_value.timestamp() if isinstance(arrival_value, datetime) else float(arrival_value)
    )
    data = base64.b64encode(raw["Data"]).decode("ascii")
    sequence = raw["SequenceNumber"]
    event = {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": raw["PartitionKey"],
            "sequenceNumber": sequence,
            "data": data,
            "approximateArrivalTimestamp": arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": f"arn:aws:iam::{stream_arn.split(':')[4]}:role/redline-ingest",
        "awsRegion": REGION,
        "eventSourceARN": stream_arn,
    }
    size = len(data) + len(raw["PartitionKey"]) + 2 * len(sequence) + RECORD_EVENT_OVERHEAD_BYTES
    return StreamRecord(sequence, raw["PartitionKey"], arrival, event, size)


class Outcome(Enum):
    SUCCESS = "success"
    PARTIAL = "partial"  # batchItemFailures named records: restart at the lowest one
    FAILED = "failed"  # function error, timeout, or a malformed batch response


def judge_response(
    result: InvokeResult, batch: list[StreamRecord], report_batch_item_failures: bool
) -> tuple[Outcome, int]:
    """(outcome, index of the first record to retry) for one invocation's result."""
    if result.failed:
        return Outcome.FAILED, 0
    if not report_batch_item_failures:
        return Outcome.SUCCESS, len(batch)
    try:
        response = result.json()
    except ValueError:
        return Outcome.FAILED, 0
    if not isinstance(response, dict):
        return Outcome.SUCCESS, len(batch)
    failures = response.get("batchItemFailures")
    if not failures:  # null, missing or empty: full success
        return Outcome.SUCCESS, len(batch)
    if not isinstance(failures, list):
        return Outcome.FAILED, 0
    index_of = {record.sequence_number: i for i, record in enumerate(batch)}
    lowest = len(batch)
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in index_of:
            return Outcome.FAILED, 0  # empty or malformed itemIdentifier fails the whole batch
        lowest = min(lowest, index_of[identifier])
    return Outcome.PARTIAL, lowest


def on_failure_message(
    batch: list[StreamRecord],
    shard_id: str,
    stream_arn: str,
    function_arn: str,
    condition: str,
    invoke_count: int,
    last_result: InvokeResult | None,
) -> dict[str, Any]:
    """The message Lambda sends to an on-failure destination for a Kinesis batch."""

    def iso(epoch: float) -> str:
        return (
            datetime.fromtimestamp(epoch, tz=UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )

    function_error = None
    if last_result is not None and last_result.failed:
        function_error = "Unhandled"
    return {
        "requestContext": {
            "requestId": last_result.request_id if last_result else str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": function_error,
        },
        "version": "1.0",
        "timestamp": iso(time.time()),
        "KinesisBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": batch[0].sequence_number,
            "endSequenceNumber": batch[-1].sequence_number,
            "approximateArrivalOfFirstRecord": iso(batch[0].arrival),
            "approximateArrivalOfLastRecord": iso(batch[-1].arrival),
            "batchSize": len(batch),
            "streamArn": stream_arn,
        },
    }


@dataclass
class MappingStats:
    """Counters a test or `status` can read (the metrics go to CloudWatch as well)."""

    polls: int = 0
    read_throttles: int = 0
    expired_iterators: int = 0
    records_read: int = 0
    invocations: int = 0
    throttled_invocations: int = 0
    function_errors: int = 0
    partial_failures: int = 0
    bisects: int = 0
    retries: int = 0
    records_succeeded: int = 0
    records_sent_on_failure: int = 0
    records_discarded: int = 0
    on_failure_messages: int = 0
    mapping_failures: int = 0
    last_iterator_age_ms: float = 0.0
    max_iterator_age_ms: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **deltas: float) -> None:
        with self.lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)

    def snapshot(self) -> dict[str, float]:
        with self.lock:
            return {k: v for k, v in self.__dict__.items() if k != "lock"}


class BatchProcessor:
    """Runs one slot's batches to completion: retries, bisect, partial responses, destination."""

    def __init__(
        self,
        settings: MappingSettings,
        shard_id: str,
        stream_arn: str,
        function_arn: str,
        invoke: Callable[[dict[str, Any]], InvokeResult],
        send_on_failure: Callable[[dict[str, Any]], None],
        stats: MappingStats,
        stop: threading.Event,
        on_batch_done: Callable[[list[StreamRecord]], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.shard_id = shard_id
        self.stream_arn = stream_arn
        self.function_arn = function_arn
        self._invoke = invoke
        self._send_on_failure = send_on_failure
        self.stats = stats
        self._stop = stop
        self._on_batch_done = on_batch_done
        self._clock = clock

    def _give_up(
        self,
        batch: list[StreamRecord],
        condition: str,
        invoke_count: int,
        last_result: InvokeResult | None,
    ) -> None:
        message = on_failure_message(
            batch,
            self.shard_id,
            self.stream_arn,
            self.function_arn,
            condition,
            invoke_count,
            last_result,
        )
        if self.settings.on_failure_queue_url:
            self._send_on_failure(message)
            self.stats.add(records_sent_on_failure=len(batch), on_failure_messages=1)
        else:
            self.stats.add(records_discarded=len(batch))
        logger.warning(
            "skipping %d records of %s (%s..%s): %s after %d invocations",
            len(batch),
            self.shard_id,
            batch[0].sequence_number,
            batch[-1].sequence_number,
            condition,
            invoke_count,
        )

    def _invoke_until_not_throttled(self, batch: list[StreamRecord]) -> InvokeResult | None:
        """Invoke; on a throttle wait and try again (throttles spend no retry attempt)."""
        delay = THROTTLE_BACKOFF_S[0]
        event = {"Records": [record.event for record in batch]}
        while not self._stop.is_set():
            try:
                result = self._invoke(event)
            except Throttled:
                self.stats.add(throttled_invocations=1)
                self._stop.wait(delay)
                delay = min(delay * 2, THROTTLE_BACKOFF_S[1])
                continue
            except Exception as exc:  # the invoke path's own failure is a function error
                logger.exception("invoking for %d records failed", len(batch))
                result = InvokeResult(
                    str(uuid.uuid4()),
                    None,
                    {"errorMessage": f"the invoke failed: {exc}", "errorType": "Runtime.Unknown"},
                )
            self.stats.add(invocations=1)
            return result
        return None

    def _expired(self, batch: list[StreamRecord]) -> int:
        """How many leading records are older than the maximum record age."""
        max_age = self.settings.maximum_record_age_s
        if max_age < 0:
            return 0
        now = self._clock()
        count = 0
        for record in batch:
            if now - record.arrival <= max_age:
                break
            count += 1
        return count

    def process(self, records: list[StreamRecord]) -> None:
        """Process a batch until every record succeeded or was handed to the destination."""
        # Work items: (records, retry attempts spent, invocations so far), front first.
        work: deque[tuple[list[StreamRecord], int, int]] = deque([(records, 0, 0)])
        while work and not self._stop.is_set():
            batch, attempts, invokes = work.popleft()
            expired = self._expired(batch)
            if expired:
                self._give_up(batch[:expired], ON_FAILURE_RECORD_AGE_EXCEEDED, invokes, None)
                self._on_batch_done(batch[:expired])
                batch = batch[expired:]
                if not batch:
                    continue
            result = self._invoke_until_not_throttled(batch)
            if result is None:
                return
            invokes += 1
            outcome, first_failed = judge_response(
                result, batch, self.settings.report_batch_item_failures
            )
            if outcome is Outcome.SUCCESS:
                self.stats.add(records_succeeded=len(batch))
                self._on_batch_done(batch)
                continue
            if outcome is Outcome.PARTIAL:
                self.stats.add(partial_failures=1, records_succeeded=first_failed)
                if first_failed:
                    self._on_batch_done(batch[:first_failed])
                remaining = batch[first_failed:]
            else:
                self.stats.add(function_errors=1)
                remaining = batch
                if self.settings.bisect_batch_on_function_error and len(batch) > 1:
                    middle = len(batch) // 2
                    self.stats.add(bisects=1)
                    work.appendleft((batch[middle:], attempts, invokes))
                    work.appendleft((batch[:middle], attempts, invokes))
                    continue
            max_retries = self.settings.maximum_retry_attempts
            if max_retries >= 0 and attempts >= max_retries:
                self._give_up(remaining, ON_FAILURE_RETRY_ATTEMPTS_EXHAUSTED, invokes, result)
                self._on_batch_done(remaining)
                continue
            self.stats.add(retries=1)
            work.appendleft((remaining, attempts + 1, invokes))


class Slot:
    """The records waiting for one of a shard's concurrent batches (one key always one slot)."""

    def __init__(self) -> None:
        self.records: deque[StreamRecord] = deque()
        self.first_waiting_since: float | None = None
        self.condition = threading.Condition()

    def put(self, records: list[StreamRecord]) -> None:
        with self.condition:
            if not self.records:
                self.first_waiting_since = time.monotonic()
            self.records.extend(records)
            self.condition.notify_all()

    def __len__(self) -> int:
        return len(self.records)

    def take(
        self, settings: MappingSettings, stop: threading.Event, closing: Callable[[], bool]
    ) -> list[StreamRecord]:
        """Wait for a full batch, the 6 MB cap or the end of the batching window."""
        with self.condition:
            while not stop.is_set():
                if self.records:
                    waited = time.monotonic() - (self.first_waiting_since or 0)
                    full = len(self.records) >= settings.batch_size or self._bytes_full(settings)
                    if full or waited >= settings.batching_window_s or closing():
                        return self._pop(settings)
                    self.condition.wait(settings.batching_window_s - waited)
                elif closing():
                    return []
                else:
                    self.condition.wait(0.2)
            return []

    def _bytes_full(self, settings: MappingSettings) -> bool:
        total = 0
        for record in self.records:
            total += record.size
            if total >= settings.max_payload_bytes:
                return True
        return False

    def _pop(self, settings: MappingSettings) -> list[StreamRecord]:
        batch: list[StreamRecord] = []
        total = 64  # {"Records": [...]}
        while self.records and len(batch) < settings.batch_size:
            size = self.records[0].size
            if batch and total + size > settings.max_payload_bytes:
                break
            batch.append(self.records.popleft())
            total += size
        self.first_waiting_since = time.monotonic() if self.records else None
        self.condition.notify_all()
        return batch


def slot_of(partition_key: str, slots: int) -> int:
    return zlib.crc32(partition_key.encode("utf-8")) % slots


class ShardConsumer:
    """Polls one shard and feeds its slots; `parallelization_factor` slot threads invoke."""

    def __init__(
        self,
        kinesis,
        stream_name: str,
        stream_arn: str,
        shard_id: str,
        settings: MappingSettings,
        function,
        send_on_failure,
        publisher=None,
        parent: ShardConsumer | None = None,
        adjacent_parent: ShardConsumer | None = None,
    ) -> None:
        self.kinesis = kinesis
        self.stream_name = stream_name
        self.stream_arn = stream_arn
        self.shard_id = shard_id
        self.settings = settings
        self.function = function
        self.publisher = publisher
        self.parent = parent
        # A merged shard has two parents: Lambda finishes both before reading it.
        self.parents = [p for p in (parent, adjacent_parent) if p is not None]
        self.stats = MappingStats()
        self.stop_event = threading.Event()
        self.finished = threading.Event()
        self._closed_shard = False
        self.slots = [Slot() for _ in range(settings.parallelization_factor)]
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        self.last_read_sequence: str | None = None
        self.processors = [
            BatchProcessor(
                settings,
                shard_id,
                stream_arn,
                function.arn,
                function.invoke,
                send_on_failure,
                self.stats,
                self.stop_event,
                self._batch_done,
            )
            for _ in self.slots
        ]
        self._buffer_limit = max(
            settings.batch_size * settings.parallelization_factor * 2,
            limits.KINESIS_GET_RECORDS_MAX_RECORDS,
        )
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        poller = threading.Thread(
            target=self._poll_loop, daemon=True, name=f"esm-poll-{self.shard_id}"
        )
        self._threads.append(poller)
        for index, slot in enumerate(self.slots):
            self._threads.append(
                threading.Thread(
                    target=self._slot_loop,
                    args=(slot, self.processors[index]),
                    daemon=True,
                    name=f"esm-{self.shard_id}-{index}",
                )
            )
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self.stop_event.set()
        for slot in self.slots:
            with slot.condition:
                slot.condition.notify_all()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))

    @property
    def buffered(self) -> int:
        return sum(len(slot) for slot in self.slots) + self._in_flight

    def _batch_done(self, batch: list[StreamRecord]) -> None:
        if not batch:
            return
        age_ms = max(0.0, (time.time() - batch[-1].arrival) * 1000)
        with self.stats.lock:
            self.stats.last_iterator_age_ms = age_ms
            self.stats.max_iterator_age_ms = max(self.stats.max_iterator_age_ms, age_ms)
        if self.publisher is not None:
            self.publisher.observe(
                "AWS/Lambda", "IteratorAge", {"FunctionName": self.function.spec.name}, age_ms
            )

    # ------------------------------------------------------------------ slots
    def _slot_loop(self, slot: Slot, processor: BatchProcessor) -> None:
        while not self.stop_event.is_set():
            batch = slot.take(self.settings, self.stop_event, lambda: self._closed_shard)
            if not batch:
                if self._closed_shard and self.buffered == 0:
                    self.finished.set()
                    return
                continue
            with self._in_flight_lock:
                self._in_flight += len(batch)
            try:
                self._process_until_done(processor, batch)
            finally:
                with self._in_flight_lock:
                    self._in_flight -= len(batch)

    def _process_until_done(self, processor: BatchProcessor, batch: list[StreamRecord]) -> None:
        """A failure of the mapping itself (e.g. the on-failure queue refusing) retries the
        batch: at least once, never skipped (the records were not handed anywhere)."""
        delay = THROTTLE_BACKOFF_S[0]
        while not self.stop_event.is_set():
            try:
                processor.process(batch)
                return
            except Exception:  # a bug or an outage here must not skip or stop the shard
                logger.exception("processing a batch of %s failed; retrying it", self.shard_id)
                self.stats.add(mapping_failures=1)
                self.stop_event.wait(delay)
                delay = min(delay * 2, THROTTLE_BACKOFF_S[1])

    # ------------------------------------------------------------------ polling
    def _initial_iterator(self) -> str:
        if self.last_read_sequence is not None:
            return self.kinesis.get_shard_iterator(
                StreamName=self.stream_name,
                ShardId=self.shard_id,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                StartingSequenceNumber=self.last_read_sequence,
            )["ShardIterator"]
        position = self.settings.starting_position
        if self.parents:
            position = "TRIM_HORIZON"  # a child shard is read from its start after its parent
        return self.kinesis.get_shard_iterator(
            StreamName=self.stream_name, ShardId=self.shard_id, ShardIteratorType=position
        )["ShardIterator"]

    def _poll_loop(self) -> None:
        for parent in self.parents:
            while not self.stop_event.is_set() and not parent.finished.wait(0.5):
                pass
        iterator: str | None = None
        read_backoff = READ_THROTTLE_BACKOFF_S[0]
        while not self.stop_event.is_set():
            if iterator is None:
                try:
                    iterator = self._initial_iterator()
                except (ClientError, BotoCoreError) as exc:
                    logger.warning("GetShardIterator on %s failed: %s", self.shard_id, exc)
                    self.stop_event.wait(1.0)
                    continue
            room = self._buffer_limit - self.buffered
            if room <= 0:
                self.stop_event.wait(0.05)  # the slots are behind: stop reading (back pressure)
                continue
            limit = min(limits.KINESIS_GET_RECORDS_MAX_RECORDS, room)
            try:
                response = self.kinesis.get_records(ShardIterator=iterator, Limit=limit)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code == "ProvisionedThroughputExceededException":
                    self.stats.add(read_throttles=1)
                    self.stop_event.wait(read_backoff)
                    read_backoff = min(read_backoff * 2, READ_THROTTLE_BACKOFF_S[1])
                    continue
                if code == "ExpiredIteratorException":
                    self.stats.add(expired_iterators=1)
                    iterator = None
                    continue
                logger.warning("GetRecords on %s failed: %s", self.shard_id, exc)
                self.stop_event.wait(1.0)
                continue
            except BotoCoreError as exc:
                logger.warning("GetRecords on %s failed: %s", self.shard_id, exc)
                self.stop_event.wait(1.0)
                continue
            read_backoff = READ_THROTTLE_BACKOFF_S[0]
            self.stats.add(polls=1)
            raw_records = response.get("Records", [])
            if raw_records:
                self._distribute(raw_records)
            iterator = response.get("NextShardIterator")
            if iterator is None:  # the shard was closed (resharding) and is fully read
                self._closed_shard = True
                for slot in self.slots:
                    with slot.condition:
                        slot.condition.notify_all()
                if self.buffered == 0:
                    self.finished.set()
                return
            behind = response.get("MillisBehindLatest", 0) > 0 or len(raw_records) >= limit
            self.stop_event.wait(
                BEHIND_POLL_INTERVAL_S if raw_records and behind else self.settings.poll_interval_s
            )

    def _distribute(self, raw_records: list[dict[str, Any]]) -> None:
        per_slot: list[list[StreamRecord]] = [[] for _ in self.slots]
        for raw in raw_records:
            record = to_stream_record(raw, self.shard_id, self.stream_arn)
            per_slot[slot_of(record.partition_key, len(self.slots))].append(record)
        for slot, records in zip(self.slots, per_slot, strict=True):
            if records:
                slot.put(records)
        self.last_read_sequence = raw_records[-1]["SequenceNumber"]
        self.stats.add(records_read=len(raw_records))


class EventSourceMapping:
    """One stream -> function mapping: a ShardConsumer per shard, new shards picked up."""

    def __init__(
        self,
        kinesis,
        sqs,
        stream_name: str,
        function,
        settings: MappingSettings,
        publisher=None,
        shard_refresh_s: float = 10.0,
    ) -> None:
        self.kinesis = kinesis
        self.sqs = sqs
        self.stream_name = stream_name
        self.function = function
        self.settings = settings
        self.publisher = publisher
        self.uuid = str(uuid.uuid4())
        self.consumers: dict[str, ShardConsumer] = {}
        self._stop = threading.Event()
        self._refresh_s = shard_refresh_s
        self._thread: threading.Thread | None = None
        self.stream_arn = kinesis.describe_stream_summary(StreamName=stream_name)[
            "StreamDescriptionSummary"
        ]["StreamARN"]

    def _send_on_failure(self, message: dict[str, Any]) -> None:
        self.sqs.send_message(
            QueueUrl=self.settings.on_failure_queue_url, MessageBody=json.dumps(message)
        )

    def refresh_shards(self) -> None:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamName": self.stream_name}
        while True:
            page = self.kinesis.list_shards(**kwargs)
            shards.extend(page.get("Shards", []))
            token = page.get("NextToken")
            if not token:
                break
            kwargs = {"NextToken": token}
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id in self.consumers:
                continue
            parent = self.consumers.get(shard.get("ParentShardId", ""))
            consumer = ShardConsumer(
                self.kinesis,
                self.stream_name,
                self.stream_arn,
                shard_id,
                self.settings,
                self.function,
                self._send_on_failure,
                self.publisher,
                parent,
                self.consumers.get(shard.get("AdjacentParentShardId", "")),
            )
            self.consumers[shard_id] = consumer
            consumer.start()

    def start(self) -> None:
        self.refresh_shards()
        self._thread = threading.Thread(
            target=self._refresh_loop, daemon=True, name=f"esm-shards-{self.stream_name}"
        )
        self._thread.start()

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self._refresh_s):
            try:
                self.refresh_shards()
            except (ClientError, BotoCoreError) as exc:
                logger.warning("ListShards on %s failed: %s", self.stream_name, exc)

    def stop(self) -> None:
        self._stop.set()
        for consumer in self.consumers.values():
            consumer.stop_event.set()
        for consumer in self.consumers.values():
            consumer.stop()

    def stats(self) -> dict[str, Any]:
        return {shard: consumer.stats.snapshot() for shard, consumer in self.consumers.items()}

    def total(self, name: str) -> float:
        return sum(consumer.stats.snapshot()[name] for consumer in self.consumers.values())
