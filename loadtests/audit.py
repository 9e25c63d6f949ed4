"""The data-loss audit: every event id Kinesis acknowledged is in the table or the DLQ.

After the load stops it waits for the consumer to store the acknowledged events: as long as
the consumer keeps storing some of a sample spread over the run (so a consumer working through
a backlog is waited for), until it makes no progress for the scenario's drain timeout, and
never longer than DRAIN_LIMIT_S. Then it reads this run's ids from the table (`by_key`:
BatchGetItem of the acknowledged ids, reading only the run's items, as TARGET=aws does; else a
Scan filtered by the run's id prefix, which also finds stored ids nobody acknowledged) and from
the dead-letter queue (received with a visibility timeout longer than the audit, never
deleted), and compares the sets.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from loadtests.runconfig import ACKED_PREFIX, Endpoints
from pipeline.config import AuditConfig

REDLINE_TABLE = AuditConfig()  # partition key event_id holding the id as is

SAMPLE_SIZE = 20
DRAIN_SAMPLE = 100  # the last acknowledged ids checked while waiting for the consumer
DRAIN_SPREAD = 400  # acknowledged ids per process, spread over the run: the drain's progress
DRAIN_LIMIT_S = 1800.0  # the longest an audit waits for a consumer still making progress
DRAIN_POLL_S = 2.0
DRAIN_REPORT_S = 15.0  # how often the wait says where the consumer is
DLQ_VISIBILITY_S = 900
MAX_DLQ_RECEIVES = 10_000
MAX_SCAN_PAGES = 100_000


@dataclass
class AuditResult:
    produced: int
    stored: int
    dead_lettered: int
    lost: int
    unexpected: int
    lost_sample: list[str] = field(default_factory=list)
    unexpected_sample: list[str] = field(default_factory=list)
    drained: bool = True
    drain_wait_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "produced": self.produced,
            "stored": self.stored,
            "dead_lettered": self.dead_lettered,
            "lost": self.lost,
            "unexpected": self.unexpected,
            "lost_sample": self.lost_sample,
            "unexpected_sample": self.unexpected_sample,
            "drained": self.drained,
            "drain_wait_s": round(self.drain_wait_s, 1),
        }


def compare(
    produced: set[str],
    stored: set[str],
    dead_lettered: set[str],
    other_starts: frozenset[str] = frozenset(),
) -> AuditResult:
    """lost = acknowledged but neither stored nor dead-lettered; unexpected = the reverse.
    `other_starts`: ids the other starts of a web UI session acknowledged: not unexpected."""
    found = (stored | dead_lettered) - other_starts
    lost = produced - found
    unexpected = found - produced
    return AuditResult(
        produced=len(produced),
        stored=len(stored & produced),
        dead_lettered=len((dead_lettered - stored) & produced),
        lost=len(lost),
        unexpected=len(unexpected),
        lost_sample=sorted(lost)[:SAMPLE_SIZE],
        unexpected_sample=sorted(unexpected)[:SAMPLE_SIZE],
    )


def read_acked(work_dir: str | Path) -> tuple[set[str], list[str]]:
    """Every acknowledged id the producers wrote, and a sample to follow the consumer by.

    The sample is the last DRAIN_SAMPLE ids of each process (stored last) and DRAIN_SPREAD ids
    spread evenly over its run (stored one after another as the consumer works through a
    backlog), in acknowledgement order.
    """
    ids: set[str] = set()
    sample: list[str] = []
    for path in sorted(Path(work_dir).glob(f"{ACKED_PREFIX}*.txt")):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
        ids.update(lines)
        stride = max(1, len(lines) // DRAIN_SPREAD)
        sample.extend(lines[:-DRAIN_SAMPLE:stride] if len(lines) > DRAIN_SAMPLE else [])
        sample.extend(lines[-DRAIN_SAMPLE:])
    return ids, list(dict.fromkeys(sample))


def _clients(endpoints: Endpoints) -> tuple[Any, Any]:
    config = Config(retries={"mode": "standard", "max_attempts": 10}, read_timeout=30)
    kwargs = {"region_name": endpoints.region, "endpoint_url": endpoints.aws_endpoint_url}
    return boto3.client("dynamodb", config=config, **kwargs), boto3.client(
        "sqs", config=config, **kwargs
    )


def wait_until_stored(
    dynamodb: Any,
    table: str,
    ids: list[str],
    stall_timeout_s: float,
    sleep: Callable[[float], None] = time.sleep,
    schema: AuditConfig = REDLINE_TABLE,
    clock: Callable[[], float] = time.monotonic,
    limit_s: float = DRAIN_LIMIT_S,
    report: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[bool, float]:
    """Wait until these ids are in the table; True when they all are.

    Gives up when none of the missing ids was stored for `stall_timeout_s` (the consumer is
    stuck or gone), or after `limit_s` in all (every run is bounded); `report` hears where the
    wait stands every DRAIN_REPORT_S, `progress(stored, waited_for)` after each look (the web
    UI's "draining: n of m").
    """
    started = clock()
    last_progress = last_report = started
    missing = list(dict.fromkeys(ids))
    total = len(missing)
    while True:
        still = _missing(dynamodb, table, missing, schema)
        now = clock()
        if len(still) < len(missing):
            last_progress = now
        missing = still
        if progress is not None:
            progress(total - len(missing), total)
        waited = now - started
        if not missing:
            return True, waited
        if now - last_progress >= stall_timeout_s or waited >= limit_s:
            return False, waited
        if report is not None and now - last_report >= DRAIN_REPORT_S:
            last_report = now
            report(
                f"    draining: {len(ids) - len(missing)} of {len(ids)} sampled events stored"
                f" after {waited:.0f} s (gives up after {stall_timeout_s:.0f} s without progress"
                f" or {limit_s:.0f} s in all)"
            )
        sleep(min(DRAIN_POLL_S, max(stall_timeout_s - (now - last_progress), 0.1)))


def _missing(
    dynamodb: Any, table: str, ids: list[str], schema: AuditConfig = REDLINE_TABLE
) -> list[str]:
    missing = []
    key = schema.key_attribute
    projection = {"ProjectionExpression": "#k", "ExpressionAttributeNames": {"#k": key}}
    for offset in range(0, len(ids), 100):
        chunk = ids[offset : offset + 100]
        keys = [{key: {"S": schema.key_of(i)}} for i in chunk]
        found: set[str | None] = set()
        for _attempt in range(20):
            response = dynamodb.batch_get_item(RequestItems={table: {"Keys": keys, **projection}})
            found.update(
                schema.id_of(item[key]["S"]) for item in response["Responses"].get(table, [])
            )
            keys = response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
            if not keys:
                break
            time.sleep(0.2)
        missing.extend(i for i in chunk if i not in found)
    return missing


def stored_ids(
    dynamodb: Any, table: str, prefix: str, schema: AuditConfig = REDLINE_TABLE
) -> set[str]:
    ids: set[str] = set()
    key_prefix = schema.key_format.partition("{id}")[0] + prefix
    kwargs: dict[str, Any] = {
        "TableName": table,
        "ProjectionExpression": "#k",
        "ExpressionAttributeNames": {"#k": schema.key_attribute},
        "FilterExpression": "begins_with(#k, :prefix)",
        "ExpressionAttributeValues": {":prefix": {"S": key_prefix}},
    }
    for _page in range(MAX_SCAN_PAGES):
        response = dynamodb.scan(**kwargs)
        for item in response.get("Items", []):
            record_id = schema.id_of(item[schema.key_attribute]["S"])
            if record_id is not None:
                ids.add(record_id)
        if "LastEvaluatedKey" not in response:
            return ids
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    raise RuntimeError(f"table scan of {table} did not finish in {MAX_SCAN_PAGES} pages")


def dead_lettered_ids(sqs: Any, queue_url: str, prefix: str) -> set[str]:
    """This run's ids in the DLQ. Messages stay in the queue (not deleted)."""
    ids: set[str] = set()
    empty = 0
    for _ in range(MAX_DLQ_RECEIVES):
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=DLQ_VISIBILITY_S,
            WaitTimeSeconds=1,
        )
        messages = response.get("Messages", [])
        if not messages:
            empty += 1
            if empty >= 2:
                break
            continue
        for message in messages:
            event_id = event_id_of(message.get("Body", ""))
            if event_id and event_id.startswith(prefix):
                ids.add(event_id)
    return ids


def event_id_of(body: str) -> str | None:
    """The DLQ body carries event_id (when it could be read) and the record's base64 data."""
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if message.get("event_id"):
        return str(message["event_id"])
    try:
        return str(json.loads(base64.b64decode(message.get("data") or ""))["event_id"])
    except (ValueError, KeyError, TypeError):
        return None


def stored_ids_by_key(
    dynamodb: Any, table: str, ids: set[str], schema: AuditConfig = REDLINE_TABLE
) -> set[str]:
    """The ids that are in the table, read by key: only this run's items are read."""
    return ids - set(_missing(dynamodb, table, sorted(ids), schema))


def run_audit(
    endpoints: Endpoints,
    work_dir: str | Path,
    prefix: str,
    drain_timeout_s: float,
    by_key: bool = False,
    schema: AuditConfig = REDLINE_TABLE,
    report: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    other_starts: frozenset[str] = frozenset(),
) -> AuditResult:
    produced, tails = read_acked(work_dir)
    dynamodb, sqs = _clients(endpoints)
    queue = endpoints.dead_letter_queue_url
    dead = dead_lettered_ids(sqs, queue, prefix) if queue else set()
    tails = [event_id for event_id in tails if event_id not in dead]
    table = endpoints.table_name
    drained, waited = wait_until_stored(
        dynamodb,
        table,
        tails,
        drain_timeout_s,
        schema=schema,
        report=report,
        progress=progress,
    )
    if by_key:
        stored = stored_ids_by_key(dynamodb, table, produced - dead, schema)
    else:
        stored = stored_ids(dynamodb, table, prefix, schema)
    if queue:
        dead |= dead_lettered_ids(sqs, queue, prefix)
    result = compare(produced, stored, dead, other_starts)
    if result.lost and drained:
        # The tails were stored but some earlier ids were not: give stragglers one more look.
        time.sleep(min(10.0, drain_timeout_s))
        again = (
            stored_ids_by_key(dynamodb, table, produced - stored - dead, schema)
            if by_key
            else stored_ids(dynamodb, table, prefix, schema)
        )
        result = compare(produced, stored | again, dead, other_starts)
    result.drained, result.drain_wait_s = drained, waited
    return result
