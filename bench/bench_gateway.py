"""Benchmark of the local AWS gateway, printed as ratios measured in one run.

1. Accepted rate at 3x overload / configured limit: Kinesis records/s and bytes/s on one
   shard, DynamoDB WCU and RCU on one table (target 1.00 +- 0.03). Kinesis rates are counted
   on the client (what boto3 got acknowledged, over the clock seconds the run touched);
   DynamoDB rates come from the gateway's 1-second consumed-capacity metrics over the whole
   seconds of the run (burst drained first).
2. Engine headroom: records/s of 500 B with limits lifted, over --headroom-seconds (the spec's
   figure is over 300 s), and its drift (last slice vs first slice).
3. Gateway overhead: calls/s through the gateway (limits lifted) / calls/s to the bare engine,
   same client workload, for Kinesis PutRecords and DynamoDB PutItem.

    python -m bench.bench_gateway [--quick] [--headroom-seconds 300] [--overload-seconds 12]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import boto3
from botocore.config import Config

from pipeline import aws_limits as L
from pipeline.local.aws import start_gateway
from pipeline.local.aws.engines import start_engine

CLIENT_CONFIG = Config(retries={"total_max_attempts": 1}, max_pool_connections=64)
OVERLOAD = 3.0


def client(service: str, endpoint: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=CLIENT_CONFIG,
    )


def paced(call, per_second: float, seconds: float, threads: int) -> int:
    """Offer `per_second` calls in total from `threads` threads for `seconds`."""
    made = 0
    lock = threading.Lock()
    start = time.monotonic()

    def loop(offset: int) -> None:
        nonlocal made
        interval = threads / per_second
        due = start + offset * interval / threads
        while due < start + seconds:
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                call()
            except Exception as exc:  # a throttle is the expected answer at 3x
                if "ProvisionedThroughputExceeded" not in str(exc):
                    raise
            with lock:
                made += 1
            due += interval

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(seconds + 60)
    return made


def rate_from_metrics(
    endpoint: str, namespace: str, metric: str, dims: dict, start: float, end: float, skip_s: int
):
    """Mean per-second Sum over the whole seconds in [start + skip_s, end)."""
    cloudwatch = client("cloudwatch", endpoint)
    first, last = int(start) + 1 + skip_s, int(end) - 1
    reply = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": metric,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                    },
                    "Period": 1,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=datetime.fromtimestamp(first, UTC),
        EndTime=datetime.fromtimestamp(last, UTC),
    )
    result = reply["MetricDataResults"][0]
    by_second = {
        int(t.timestamp()): v for t, v in zip(result["Timestamps"], result["Values"], strict=True)
    }
    seconds = range(first, last)
    return sum(by_second.get(s, 0.0) for s in seconds) / max(1, len(seconds))


def wait_active_stream(kinesis, name: str) -> None:
    for _ in range(200):
        if (
            kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
                "StreamStatus"
            ]
            == "ACTIVE"
        ):
            return
        time.sleep(0.05)
    raise RuntimeError(f"stream {name} not ACTIVE")


def create_table(dynamodb, name: str, rcu: int, wcu: int) -> None:
    kwargs = (
        {"BillingMode": "PAY_PER_REQUEST"}
        if rcu == 0
        else {"ProvisionedThroughput": {"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu}}
    )
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "event_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "event_id", "AttributeType": "S"}],
        **kwargs,
    )
    for _ in range(200):
        if dynamodb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE":
            return
        time.sleep(0.05)


# ---------------------------------------------------------------- 1. overload ratios


class ClientSeen:
    """What the producer got acknowledged, counted on the client (never the gateway's own
    IncomingRecords, stamped where the limit is enforced). A call is judged at one instant
    between its sending and its answer, so the total is spread over the clock seconds the run
    touched; at 3x overload each of them fills to the limit, so total / seconds touched is
    the accepted rate (the last second may be part-filled: a slight underestimate)."""

    def __init__(self, bytes_per_record: int = 1) -> None:
        self.bytes_per_record = bytes_per_record
        self.accepted = 0
        self.first: float | None = None
        self.last = 0.0
        self.lock = threading.Lock()

    def put(self, call) -> None:
        sent = time.time()
        reply = call()
        answered = time.time()
        with self.lock:
            self.first = sent if self.first is None else min(self.first, sent)
            self.last = max(self.last, answered)
            self.accepted += (len(reply["Records"]) - reply["FailedRecordCount"]) * (
                self.bytes_per_record
            )

    def records_per_second_touched(self) -> float:
        touched = int(self.last) - int(self.first or self.last) + 1
        return self.accepted / touched


def overload_ratios(seconds: float) -> dict[str, float]:
    results = {}
    with start_gateway(port=0, limits=True, burst_seconds=1) as gw:
        kinesis = client("kinesis", gw.endpoint_url)

        # Kinesis records/s: 3,000 records/s of 10 B offered to one shard.
        name = f"bench-{uuid.uuid4().hex[:8]}"
        kinesis.create_stream(StreamName=name, ShardCount=1)
        wait_active_stream(kinesis, name)
        records = [{"Data": b"r" * 10, "PartitionKey": str(i)} for i in range(500)]
        seen = ClientSeen()
        paced(
            lambda: seen.put(lambda: kinesis.put_records(StreamName=name, Records=records)),
            OVERLOAD * L.KINESIS_SHARD_WRITE_RECORDS_PER_S / 500,
            seconds,
            threads=3,
        )
        rate = seen.records_per_second_touched()
        results["kinesis records/s"] = rate / L.KINESIS_SHARD_WRITE_RECORDS_PER_S

        # Kinesis bytes/s: 3 MiB/s of 10 KiB records offered to one shard (small records keep
        # the quantisation low: 102 x 10 KiB fill 99.6% of 1 MiB).
        name = f"bench-{uuid.uuid4().hex[:8]}"
        kinesis.create_stream(StreamName=name, ShardCount=1)
        wait_active_stream(kinesis, name)
        big = [{"Data": b"b" * (10 * 1024 - 1), "PartitionKey": "k"}] * 100  # 1,000 KiB a call
        seen = ClientSeen(bytes_per_record=10 * 1024)
        paced(
            lambda: seen.put(lambda: kinesis.put_records(StreamName=name, Records=big)),
            OVERLOAD * L.KINESIS_SHARD_WRITE_BYTES_PER_S / (10 * 100 * 1024),
            seconds,
            threads=3,
        )
        rate = seen.records_per_second_touched()
        results["kinesis bytes/s"] = rate / L.KINESIS_SHARD_WRITE_BYTES_PER_S

        # DynamoDB WCU: 100 WCU, 300 puts/s of 1-WCU items; the 1 s burst is drained first.
        dynamodb = client("dynamodb", gw.endpoint_url)
        table = f"bench-{uuid.uuid4().hex[:8]}"
        wcu = rcu = 100
        create_table(dynamodb, table, rcu, wcu)
        counter = iter(range(10**9))
        start = time.time()
        paced(
            lambda: dynamodb.put_item(
                TableName=table, Item={"event_id": {"S": str(next(counter))}, "p": {"S": "x" * 500}}
            ),
            OVERLOAD * wcu,
            seconds,
            threads=4,
        )
        rate = rate_from_metrics(
            gw.endpoint_url,
            "AWS/DynamoDB",
            "ConsumedWriteCapacityUnits",
            {"TableName": table},
            start,
            time.time(),
            2,
        )
        results["dynamodb WCU"] = rate / wcu

        # DynamoDB RCU: 100 RCU, 300 strongly consistent gets/s of a 1-RCU item.
        dynamodb.put_item(
            TableName=table, Item={"event_id": {"S": "read-me"}, "p": {"S": "x" * 500}}
        )
        start = time.time()
        paced(
            lambda: dynamodb.get_item(
                TableName=table, Key={"event_id": {"S": "read-me"}}, ConsistentRead=True
            ),
            OVERLOAD * rcu,
            seconds,
            threads=4,
        )
        rate = rate_from_metrics(
            gw.endpoint_url,
            "AWS/DynamoDB",
            "ConsumedReadCapacityUnits",
            {"TableName": table},
            start,
            time.time(),
            2,
        )
        results["dynamodb RCU"] = rate / rcu
    return results


# ---------------------------------------------------------------- 2. headroom


def _producer(endpoint: str, stream: str, seconds: float, slice_s: float, out) -> None:
    kinesis = client("kinesis", endpoint)
    records = [
        {"Data": os.urandom(250).hex().encode(), "PartitionKey": uuid.uuid4().hex}
        for _ in range(500)
    ]
    start = time.monotonic()
    slices: dict[int, int] = {}
    while (now := time.monotonic()) < start + seconds:
        reply = kinesis.put_records(StreamName=stream, Records=records)
        index = int((time.monotonic() - start) // slice_s)
        slices[index] = slices.get(index, 0) + 500 - reply["FailedRecordCount"]
        del now
    out.put(slices)


def headroom(seconds: float, producers: int = 2, shards: int = 4) -> dict[str, float]:
    with start_gateway(port=0, limits=False) as gw:
        kinesis = client("kinesis", gw.endpoint_url)
        name = f"headroom-{uuid.uuid4().hex[:8]}"
        kinesis.create_stream(StreamName=name, ShardCount=shards)
        wait_active_stream(kinesis, name)
        slice_s = max(5.0, seconds / 6)
        queue = multiprocessing.get_context("spawn").Queue()
        procs = [
            multiprocessing.get_context("spawn").Process(
                target=_producer, args=(gw.endpoint_url, name, seconds, slice_s, queue)
            )
            for _ in range(producers)
        ]
        for p in procs:
            p.start()
        totals: dict[int, int] = {}
        for _ in procs:
            for index, count in queue.get(timeout=seconds + 120).items():
                totals[index] = totals.get(index, 0) + count
        for p in procs:
            p.join(30)
    full = [totals[i] / slice_s for i in sorted(totals) if (i + 1) * slice_s <= seconds]
    return {
        "records/s": sum(totals.values()) / seconds,
        "first slice records/s": full[0],
        "last slice records/s": full[-1],
        "drift (last/first - 1)": full[-1] / full[0] - 1,
        "slices": len(full),
        "slice seconds": slice_s,
        "records/s per slice": " ".join(f"{r:,.0f}" for r in full),
    }


# ---------------------------------------------------------------- 3. overhead


def _calls_per_second(call, seconds: float, threads: int) -> float:
    made = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def loop() -> None:
        nonlocal made
        while time.monotonic() < stop:
            call()
            with lock:
                made += 1

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(seconds + 60)
    return made / seconds


def _kinesis_workload(endpoint: str, tag: str):
    kinesis = client("kinesis", endpoint)
    stream = f"over-{tag}"
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    wait_active_stream(kinesis, stream)
    records = [{"Data": b"o" * 500, "PartitionKey": str(i)} for i in range(100)]
    return lambda: kinesis.put_records(StreamName=stream, Records=records)


def _dynamodb_workload(endpoint: str, tag: str):
    dynamodb = client("dynamodb", endpoint)
    table = f"over-{tag}"
    create_table(dynamodb, table, 0, 0)
    counter = iter(range(10**9))
    item = {"p": {"S": "x" * 200}}
    return lambda: dynamodb.put_item(
        TableName=table, Item=item | {"event_id": {"S": str(next(counter))}}
    )


def overhead(seconds: float, threads: int = 4) -> dict[str, float]:
    results = {}
    state = Path(tempfile.mkdtemp(prefix="redline-bench-"))
    bare = {s: start_engine(s, state / "bare") for s in ("kinesis", "dynamodb")}
    try:
        bare_put_records = _kinesis_workload(f"http://127.0.0.1:{bare['kinesis'].port}", "bare")
        bare_put_item = _dynamodb_workload(f"http://127.0.0.1:{bare['dynamodb'].port}", "bare")
        bare_k = _calls_per_second(bare_put_records, seconds, threads)
        bare_d = _calls_per_second(bare_put_item, seconds, threads)
    finally:
        for engine in bare.values():
            engine.stop()
    with start_gateway(port=0, limits=False, state_dir=state / "gw") as gw:
        gw_put_records = _kinesis_workload(gw.endpoint_url, "gw")
        gw_put_item = _dynamodb_workload(gw.endpoint_url, "gw")
        gw_k = _calls_per_second(gw_put_records, seconds, threads)
        gw_d = _calls_per_second(gw_put_item, seconds, threads)
    # The same gateway without signature checks (REDLINE_AWS_AUTH=off): what SigV4 costs.
    saved_auth = os.environ.get("REDLINE_AWS_AUTH")
    os.environ["REDLINE_AWS_AUTH"] = "off"
    try:
        with start_gateway(port=0, limits=False, state_dir=state / "gw-nosig") as gw:
            nosig_k = _calls_per_second(_kinesis_workload(gw.endpoint_url, "ns"), seconds, threads)
            nosig_d = _calls_per_second(_dynamodb_workload(gw.endpoint_url, "ns"), seconds, threads)
    finally:
        if saved_auth is None:
            os.environ.pop("REDLINE_AWS_AUTH", None)
        else:
            os.environ["REDLINE_AWS_AUTH"] = saved_auth
    results["kinesis PutRecords(100 x 500 B) calls/s: gateway / bare"] = gw_k / bare_k
    results["  bare calls/s"] = bare_k
    results["  gateway calls/s"] = gw_k
    results["dynamodb PutItem calls/s: gateway / bare"] = gw_d / bare_d
    results["  bare PutItem/s"] = bare_d
    results["  gateway PutItem/s"] = gw_d
    results["kinesis PutRecords calls/s: SigV4 checked / not checked"] = gw_k / nosig_k
    results["  gateway without SigV4 calls/s"] = nosig_k
    results["dynamodb PutItem calls/s: SigV4 checked / not checked"] = gw_d / nosig_d
    results["  gateway without SigV4 PutItem/s"] = nosig_d
    return results


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (not its children: the engines are children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sigv4_cpu_cost(calls: int = 1500) -> dict[str, float]:
    """The gateway's own CPU per call with SigV4 checked and not (REDLINE_AWS_AUTH=off).
    CPU time, unlike calls/s, does not depend on what else the shared cores are doing."""
    results: dict[str, float] = {}
    state = Path(tempfile.mkdtemp(prefix="redline-bench-sigv4-"))
    saved_auth = os.environ.get("REDLINE_AWS_AUTH")
    labels = ("DynamoDB PutItem", "Kinesis PutRecords(100 x 500 B)")
    try:
        for mode in ("sigv4", "off"):
            os.environ["REDLINE_AWS_AUTH"] = mode
            with start_gateway(port=0, limits=False, state_dir=state / mode) as gw:
                workloads = (
                    _dynamodb_workload(gw.endpoint_url, mode),
                    _kinesis_workload(gw.endpoint_url, mode),
                )
                for label, workload in zip(labels, workloads, strict=True):
                    workload()  # warm: models loaded, connections open
                    before = _cpu_seconds(gw.process.pid)
                    for _ in range(calls):
                        workload()
                    per_call = (_cpu_seconds(gw.process.pid) - before) / calls * 1e6
                    results[f"{label}: gateway CPU us/call, SigV4 {mode}"] = per_call
    finally:
        if saved_auth is None:
            os.environ.pop("REDLINE_AWS_AUTH", None)
        else:
            os.environ["REDLINE_AWS_AUTH"] = saved_auth
    for label in labels:
        on = results[f"{label}: gateway CPU us/call, SigV4 sigv4"]
        off = results[f"{label}: gateway CPU us/call, SigV4 off"]
        results[f"{label}: CPU with SigV4 / without"] = on / off
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_gateway", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="short windows (30 s headroom, 8 s overload)"
    )
    parser.add_argument(
        "--headroom-seconds", type=float, default=None, help="default 300 (30 with --quick)"
    )
    parser.add_argument(
        "--overload-seconds", type=float, default=None, help="default 12 (8 with --quick)"
    )
    parser.add_argument(
        "--overhead-seconds", type=float, default=None, help="default 10 (5 with --quick)"
    )
    parser.add_argument(
        "--overhead-only", action="store_true", help="measure only the gateway overhead (2.)"
    )
    args = parser.parse_args()
    headroom_s = args.headroom_seconds or (30.0 if args.quick else 300.0)
    overload_s = args.overload_seconds or (8.0 if args.quick else 12.0)
    overhead_s = args.overhead_seconds or (5.0 if args.quick else 10.0)
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )

    if not args.overhead_only:
        print(
            f"\n1. accepted at {OVERLOAD:g}x overload / configured limit "
            f"({overload_s:g} s each; target 1.00 +- 0.03)"
        )
        for label, ratio in overload_ratios(overload_s).items():
            print(f"   {label:<20} {ratio:.3f}")

    print("\n2. gateway overhead, limits lifted (aim >= 0.8)")
    for label, value in overhead(overhead_s).items():
        print(f"   {label:<58} {value:,.2f}")
    print("\n2b. the gateway's own CPU per call, SigV4 checked and not (1,500 calls each)")
    for label, value in sigv4_cpu_cost().items():
        print(f"   {label:<58} {value:,.2f}")
    if args.overhead_only:
        print(
            f"\nmachine load average after the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        return

    print(
        f"\n3. engine headroom, limits lifted, 500 B records, {headroom_s:g} s "
        "(spec: >= 10,000/s, drift <= 10%)"
    )
    for label, value in headroom(headroom_s).items():
        print(
            f"   {label:<26} {value:,.3f}"
            if isinstance(value, float)
            else f"   {label:<26} {value}"
        )
    print(f"\nmachine load average after the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
