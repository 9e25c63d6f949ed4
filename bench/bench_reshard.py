"""Benchmark of UpdateShardCount on the local gateway: 2 -> 4 -> 2 shards while a producer
writes at 80 % of the 2-shard limit, then every acknowledged record is read back from the
stream (parents before children, as the event source mapping reads them).

Prints, from the client side: records acknowledged, read back, lost (acknowledged, not read),
per-key order violations (a key's records read back out of the order it wrote them), and
the seconds each UpdateShardCount took from the call to ACTIVE again.

    python -m bench.bench_reshard [--seconds 60] [--rate 1600]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path

import boto3
from botocore.config import Config

from pipeline.local.aws import start_gateway

CLIENT_CONFIG = Config(retries={"total_max_attempts": 1}, max_pool_connections=16)
KEYS = 1000
CALL_RECORDS = 400


def client(endpoint: str):
    return boto3.client(
        "kinesis",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=CLIENT_CONFIG,
    )


def wait_active(kinesis, name: str) -> float:
    while True:
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            return time.time()
        time.sleep(0.02)


def read_back(kinesis, name: str) -> list[tuple[str, int]]:
    """(key, counter) of every record, shard by shard, each parent before its children."""
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    done: set[str] = set()
    out: list[tuple[str, int]] = []
    while len(done) < len(shards):
        for shard in shards:
            parents = {shard.get("ParentShardId"), shard.get("AdjacentParentShardId")} - {None}
            if shard["ShardId"] in done or not parents <= done:
                continue
            iterator = kinesis.get_shard_iterator(
                StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator:
                try:
                    reply = kinesis.get_records(ShardIterator=iterator, Limit=10000)
                except kinesis.exceptions.ProvisionedThroughputExceededException:
                    time.sleep(0.5)
                    continue
                for record in reply["Records"]:
                    key, counter = record["Data"].decode().split(":")
                    out.append((key, int(counter)))
                is_open = "EndingSequenceNumber" not in shard["SequenceNumberRange"]
                caught_up = not reply["Records"] and reply.get("MillisBehindLatest", 0) == 0
                if is_open and caught_up:
                    break  # an open shard read to its end
                iterator = reply.get("NextShardIterator")
                time.sleep(0.2)
            done.add(shard["ShardId"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=1600.0, help="80%% of 2 shards")
    args = parser.parse_args()
    print(f"load average 1/5/15 min: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with start_gateway(port=0, state_dir=Path(tempfile.mkdtemp(prefix="bench-reshard-"))) as gw:
        kinesis = client(gw.endpoint_url)
        name = f"bench-{uuid.uuid4().hex[:8]}"
        kinesis.create_stream(StreamName=name, ShardCount=2)
        wait_active(kinesis, name)
        acked: list[tuple[str, int]] = []
        counters = [0] * KEYS
        throttled = [0]
        stop = threading.Event()

        def produce() -> None:
            producer = client(gw.endpoint_url)
            pending: list[tuple[str, int]] = []
            next_key, next_call = 0, time.time()
            while not stop.is_set() or pending:
                fresh = []
                if not stop.is_set():
                    while len(pending) + len(fresh) < CALL_RECORDS:
                        counters[next_key] += 1
                        fresh.append((f"k{next_key}", counters[next_key]))
                        next_key = (next_key + 1) % KEYS
                batch = pending + fresh  # retried records first: a key's order holds
                reply = producer.put_records(
                    StreamName=name,
                    Records=[{"Data": f"{k}:{n}".encode(), "PartitionKey": k} for k, n in batch],
                )
                pending = []
                for record, entry in zip(batch, reply["Records"], strict=True):
                    if "ErrorCode" in entry:
                        pending.append(record)
                        throttled[0] += 1
                    else:
                        acked.append(record)
                next_call += len(fresh) / args.rate
                time.sleep(max(0.0, next_call - time.time()))

        producer = threading.Thread(target=produce)
        producer.start()
        began = time.time()
        reshards = []
        for at, target in ((0.25, 4), (0.6, 2)):
            time.sleep(max(0.0, began + at * args.seconds - time.time()))
            start = time.time()
            kinesis.update_shard_count(
                StreamName=name, TargetShardCount=target, ScalingType="UNIFORM_SCALING"
            )
            reshards.append((target, start, wait_active(kinesis, name) - start))
        time.sleep(max(0.0, began + args.seconds - time.time()))
        stop.set()
        producer.join(60)
        read = read_back(kinesis, name)
    lost = len(set(acked) - set(read))
    last: dict[str, int] = {}
    violations = 0
    for key, counter in read:
        if counter < last.get(key, 0):
            violations += 1
        last[key] = max(last.get(key, 0), counter)
    print(f"producer: {len(acked)} records acknowledged, {throttled[0]} throttled and retried")
    achieved = len(acked) / args.seconds
    print(f"achieved {achieved:.0f} records/s of the {args.rate:.0f} asked")
    for target, _start, took in reshards:
        print(f"UpdateShardCount -> {target}: {took:.3f} s from the call to ACTIVE")
    print(f"read back {len(read)}; lost {lost}; per-key order violations {violations}")
    print(f"load average 1/5/15 min: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
