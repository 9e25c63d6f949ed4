"""The ingest handler's per-record cost, as a ratio to the bare minimum (base64 + json.loads).

`make bench` runs it. DynamoDB and SQS are stubs that answer at once, so this measures the
handler's own CPU per record (decode, validate, wire-form item and content hash, the put
thread pool, metrics, bookkeeping): the ceiling one execution environment puts on records/s
before any network time (botocore's own cost per call is not in it: bench_runtime has it).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import time

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.utilities.batch import process_partial_response

from pipeline.ingest.processor import IngestProcessor
from pipeline.ingest.records import classify_record

BATCH_SIZE = 500
BATCHES = 20
REPEATS = 3


class _InstantTable:
    def put_item(self, **request):
        return {}


class _InstantQueue:
    def send_message_batch(self, QueueUrl, Entries):
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


class _Context:
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _batch(offset: int) -> dict:
    records = []
    for i in range(offset, offset + BATCH_SIZE):
        body = {
            "event_id": f"evt-{i:08d}",
            "type": ("click", "view", "purchase")[i % 3],
            "source": "bench",
            "produced_at": 1_764_393_600.0 + i / 1000,
            "payload": {"user": f"u-{i % 97}", "amount": i * 1.25, "tags": ["a", "b", "c"]},
        }
        data = base64.b64encode(json.dumps(body).encode()).decode()
        records.append(
            {
                "kinesis": {
                    "partitionKey": str(i),
                    "sequenceNumber": str(10**55 + i),
                    "data": data,
                    "approximateArrivalTimestamp": 1_764_393_600.0 + i / 1000,
                },
                "eventID": f"shardId-000000000000:{10**55 + i}",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:000000000000:stream/bench",
            }
        )
    return {"Records": records}


def _best_of(run) -> float:
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    events = [_batch(n * BATCH_SIZE) for n in range(BATCHES)]
    records = BATCH_SIZE * BATCHES
    metrics = Metrics(namespace="Redline", service="ingest")
    processor = IngestProcessor(
        table_name="bench",
        dlq_url="bench",
        dynamodb=_InstantTable(),
        sqs=_InstantQueue(),
        metrics=metrics,
    )

    def baseline() -> None:
        for event in events:
            for record in event["Records"]:
                json.loads(base64.b64decode(record["kinesis"]["data"]))

    def handler() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            for event in events:
                process_partial_response(event, classify_record, processor, _Context())
                metrics.flush_metrics()

    base_s = _best_of(baseline)
    handler_s = _best_of(handler)
    print(f"records per run:               {records} ({BATCHES} batches of {BATCH_SIZE})")
    print(f"base64 + json.loads:           {records / base_s:>10,.0f} records/s")
    print(f"ingest handler (stub clients): {records / handler_s:>10,.0f} records/s")
    print(f"handler cost / bare decode:    {handler_s / base_s:>10.1f}x")
    print(f"load average (1 min):          {os.getloadavg()[0]:>10.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
