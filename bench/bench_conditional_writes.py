"""The ingest handler's write path through the local gateway: BatchWriteItem vs the handler's
conditional writes (`make bench`; docs/pipeline.md "Duplicates").

The same number of new ~220 B items is written both ways in alternating rounds, so a shared
machine's load falls on both alike: 25 per BatchWriteItem call (UnprocessedItems retried), and
`pipeline.ingest.store.write_items` (PartiQL INSERTs, 25 a BatchExecuteStatement call, on its
10-thread pool).
The gateway runs with its limits lifted: this measures calls, not capacity.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from typing import Any

import boto3
from botocore.config import Config

from pipeline.contracts import Event
from pipeline.ingest.budget import TimeBudget
from pipeline.ingest.records import event_item
from pipeline.ingest.store import Backoff, write_items
from pipeline.local.aws import start_gateway

TABLE = "redline-bench-writes"
BATCH = 25


def _items(count: int) -> dict[str, dict[str, Any]]:
    items = {}
    for i in range(count):
        event = Event(
            event_id=uuid.uuid4().hex,
            type="click",
            source="bench",
            produced_at=time.time(),
            payload={"user": f"u-{i % 97}", "amount": i * 1.25, "tags": ["a", "b", "c"]},
        )
        item = event_item(event, time.time(), str(10**55 + i))
        item["stored_at"] = {"N": repr(time.time())}
        items[event.event_id] = item
    return items


def _batched(dynamodb: Any, items: dict[str, dict[str, Any]]) -> None:
    keys = list(items)
    for start in range(0, len(keys), BATCH):
        requests = [{"PutRequest": {"Item": items[k]}} for k in keys[start : start + BATCH]]
        pending: dict | None = {TABLE: requests}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems")


def _conditional(dynamodb: Any, items: dict[str, dict[str, Any]]) -> None:
    result = write_items(dynamodb, TABLE, items, TimeBudget(900, 0, time.monotonic), Backoff())
    if len(result.stored_at) != len(items):
        raise SystemExit(f"conditional puts stored {len(result.stored_at)} of {len(items)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=250, help="items per round and way")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    state = tempfile.mkdtemp(prefix="redline-bench-writes-")
    with start_gateway(port=0, limits=False, state_dir=state) as gateway:
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=gateway.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"mode": "standard", "max_attempts": 3}),
        )
        dynamodb.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "event_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "event_id", "KeyType": "HASH"}],
        )
        ratios = []
        for round_number in range(args.rounds):
            batched, conditional = _items(args.items), _items(args.items)
            started = time.perf_counter()
            _batched(dynamodb, batched)
            middle = time.perf_counter()
            _conditional(dynamodb, conditional)
            ended = time.perf_counter()
            ratios.append((ended - middle) / (middle - started))
            print(
                f"round {round_number}: BatchWriteItem {args.items / (middle - started):,.0f} "
                f"items/s; handler (INSERT) {args.items / (ended - middle):,.0f} items/s; "
                f"time ratio {ratios[-1]:.2f}; load average {os.getloadavg()[0]:.2f} "
                f"on {os.cpu_count()} CPUs"
            )
    print(f"median time ratio, handler (INSERT) / BatchWriteItem: {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
