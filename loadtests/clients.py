"""Load clients that report to Locust through `events.request`, and the events they send.

The Kinesis producer has boto3 retries off, so each throttle is seen; entries refused by a
shard are retried here with capped exponential backoff and full jitter, as a well-behaved
producer would, and every attempt is counted (offered, accepted, throttled, retries, bytes).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
)

from loadtests import timeline as tl
from loadtests.keys import KeyChooser
from loadtests.pacing import Slot

THROTTLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "LimitExceededException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
    }
)
EVENT_SOURCE = "redline-loadtest"


def target_failed(exc: Exception | None) -> bool:
    """The target answered 5xx or nothing answered the connection: a broken target, never a
    throttle (a read timeout is not counted: a saturated target is slow, not dead)."""
    if isinstance(exc, ClientError):
        return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
    return isinstance(exc, EndpointConnectionError | ConnectionClosedError)


def kinesis_client(region: str, endpoint_url: str | None, pool: int = 50) -> Any:
    """One client per process (thread-safe), boto3's own retries off so throttles are seen."""
    return boto3.client(
        "kinesis",
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(
            retries={"total_max_attempts": 1},
            max_pool_connections=max(pool, 10),
            connect_timeout=5,
            read_timeout=15,
            tcp_keepalive=True,
        ),
    )


class EventFactory:
    """Events of the contract (pipeline.contracts.Event) padded to `record_bytes` of JSON."""

    def __init__(
        self,
        id_prefix: str,
        record_bytes: int,
        event_types: int,
        key_chooser: KeyChooser,
        seed: int = 0,
    ):
        self.id_prefix = id_prefix
        self.types = [f"type-{i}" for i in range(max(event_types, 1))]
        self.key_chooser = key_chooser
        self._sequence = 0
        self._rng = random.Random(seed)  # noqa: S311 - load shape, not security
        sample_id = f"{id_prefix}.{0:09d}"
        # Padding is cut per record: the partition key in the payload varies in length.
        self._unpadded = len(self._render(sample_id, self.types[0], 1e9, "", ""))
        self._pad = "x" * max(record_bytes - self._unpadded, 0)

    @staticmethod
    def _render(event_id: str, event_type: str, produced_at: float, pad: str, key: str) -> bytes:
        # The partition key rides in the payload so the order audit can group stored items
        # by key (the stored item has no partition key of its own).
        return (
            f'{{"event_id":"{event_id}","type":"{event_type}","source":"{EVENT_SOURCE}",'
            f'"produced_at":{produced_at:.6f},"payload":{{"pad":"{pad}","key":"{key}"}}}}'
        ).encode()

    def make(self, count: int, now: float) -> list[tuple[str, bytes, str]]:
        """`count` new events as (event_id, data, partition_key)."""
        batch = []
        for _ in range(count):
            self._sequence += 1
            event_id = f"{self.id_prefix}.{self._sequence:09d}"
            event_type = self.types[self._sequence % len(self.types)]
            key = self.key_chooser(event_id)
            data = self._render(event_id, event_type, now, self._pad[len(key) :], key)
            batch.append((event_id, data, key))
        return batch


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_s: float = 0.1
    cap_s: float = 1.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.cap_s, self.base_s * 2**attempt))


@dataclass
class PutOutcome:
    accepted_ids: list[str]
    throttled: int
    errors: int
    abandoned: int


class Throttled(Exception):
    """A PutRecords call where some entries were refused by a capacity limit."""


class KinesisProducer:
    def __init__(
        self,
        client: Any,
        stream_name: str,
        fire: Callable[..., None],
        timeline: tl.Timeline,
        on_acked: Callable[[list[str], float], None],
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ):
        self.client = client
        self.stream_name = stream_name
        self.fire = fire  # environment.events.request.fire
        self.timeline = timeline
        self.on_acked = on_acked
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._rng = random.Random()  # noqa: S311 - jitter

    def send(
        self, slot: Slot, records: list[tuple[str, bytes, str]], request_type: str = tl.PUT_RECORDS
    ) -> PutOutcome:
        """Put `records` (first attempt at the slot), retrying refused entries with backoff."""
        pending = records
        accepted_ids: list[str] = []
        throttled = errors = failures = 0
        offered_bytes = sum(len(data) + len(key) for _, data, key in records)
        accepted_bytes = 0
        attempt = 0
        while pending and attempt < self.retry.max_attempts:
            started = self._clock()
            since = slot.intended_at if attempt == 0 else started
            refused, call_throttled, call_errors, exception = self._put(pending)
            ended = self._clock()
            done = [r for r in pending if r[0] not in refused]
            done_bytes = sum(len(data) + len(key) for _, data, key in done)
            accepted_ids.extend(event_id for event_id, _, _ in done)
            accepted_bytes += done_bytes
            throttled += call_throttled
            errors += call_errors
            if call_errors and target_failed(exception):
                failures += call_errors
            self.fire(
                request_type="kinesis",
                name="PutRecords" if attempt == 0 else "PutRecords retry",
                response_time=(ended - since) * 1000,
                response_length=done_bytes,
                exception=exception,
                context={},
            )
            if attempt == 0:
                self.timeline.record(
                    request_type,
                    slot.intended_at,
                    (ended - slot.intended_at) * 1000,
                    calls=1,
                    offered=len(records),
                    offered_bytes=offered_bytes,
                    late=int(started - slot.intended_at > 1.0),
                )
            if done:
                self.on_acked([r[0] for r in done], ended)
            pending = [r for r in pending if r[0] in refused]
            attempt += 1
            if pending and attempt < self.retry.max_attempts:
                self._sleep(self.retry.delay(attempt, self._rng))
                self.timeline.record(request_type, slot.intended_at, retries=len(pending))
        self.timeline.record(
            request_type,
            slot.intended_at,
            accepted=len(accepted_ids),
            accepted_bytes=accepted_bytes,
            throttled=throttled,
            errors=errors + len(pending),
            failures=failures,
        )
        return PutOutcome(accepted_ids, throttled, errors, len(pending))

    def _put(
        self, records: list[tuple[str, bytes, str]]
    ) -> tuple[set[str], int, int, Exception | None]:
        """One PutRecords call: (refused event ids, throttled, other errors, exception)."""
        try:
            response = self.client.put_records(
                StreamName=self.stream_name,
                Records=[{"Data": data, "PartitionKey": key} for _, data, key in records],
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            ids = {r[0] for r in records}
            if code in THROTTLE_CODES:
                return ids, len(ids), 0, Throttled(f"{code}: whole call refused")
            return ids, 0, len(ids), exc
        except BotoCoreError as exc:
            return {r[0] for r in records}, 0, len(records), exc
        refused: set[str] = set()
        throttled = errors = 0
        for (event_id, _, _), entry in zip(records, response["Records"], strict=True):
            code = entry.get("ErrorCode")
            if code:
                refused.add(event_id)
                if code in THROTTLE_CODES:
                    throttled += 1
                else:
                    errors += 1
        exception = None
        if errors:
            exception = RuntimeError("PutRecords entries failed (not throttled)")
        elif throttled:
            exception = Throttled("PutRecords entries throttled (ProvisionedThroughputExceeded)")
        return refused, throttled, errors, exception
