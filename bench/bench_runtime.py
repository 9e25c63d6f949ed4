"""Does the local runtime keep up with 1,000 records/s per shard? (`make bench`)

With the gateway's limits lifted (so only the runtime is measured), a paced producer puts
1,000 records/s per shard for `--seconds`; the figures:
- iterator age: the maximum over the steady part, as a ratio of (batching window + 1 s); the
  runtime keeps up when the ratio is below 1.00;
- end-to-end latency p50/p95/p99 (stored_at - produced_at of every stored item);
- the records/s the runtime sustains: a backlog put as fast as possible, and the rate at which
  the mapping drains it, with the deployed handler and with a no-op one (the runtime's ceiling);
- the HTTP API's requests/s and latency for keep-alive clients reading stored events (route
  throttling lifted; the API function keeps the environment file's reserved concurrency).
Everything runs on this machine at once (producer, gateway, engines, runtime): the figures are
what one machine can do, not AWS.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from pipeline.config import load_environment, parse_environment, to_tfvars
from pipeline.local import loopback
from pipeline.local.stack import start_stack, stop_stack

# The gateway option that lifts every limit (the engines' own speed is then the only cap).
GATEWAY_NO_LIMITS = ["--no-limits"]
STREAM = TABLE = "redline-events-bench"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def bench_environment(directory: Path, shards: int, window_s: int) -> Path:
    data = to_tfvars(load_environment("local"))
    # A local-* name: the API keeps the local file's auth NONE, allowed only in local environments.
    data["environment"] = "local-bench"
    data["stream"].update(name=STREAM, shard_count=shards)
    data["table"].update(name=TABLE, read_capacity=40000, write_capacity=40000)
    data["table"]["type_index"].update(read_capacity=40000, write_capacity=40000)
    data["ingest"].update(
        maximum_batching_window_seconds=window_s, batch_size=500, reserved_concurrency=-1
    )
    data["api"].update(throttling_rate_limit=10000, throttling_burst_limit=5000)
    data["queues"].update(
        dead_letter_name="redline-dlq-bench", on_failure_name="redline-ingest-failures-bench"
    )
    parse_environment(data)
    path = directory / "bench.tfvars.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def make_event() -> dict:
    return {
        "event_id": uuid.uuid4().hex,
        "type": "bench",
        "source": "bench",
        "produced_at": time.time(),
        "payload": {"blob": "x" * 300},
    }


def put(kinesis, stream: str, events: list[dict]) -> int:
    pending = events
    while pending:
        response = kinesis.put_records(
            StreamName=stream,
            Records=[
                {"Data": json.dumps(e).encode(), "PartitionKey": e["event_id"]} for e in pending
            ],
        )
        pending = [e for e, r in zip(pending, response["Records"], strict=True) if "ErrorCode" in r]
    return len(events)


def runtime_status(lambda_url: str, token: str) -> dict:
    status, body = loopback.request(f"{lambda_url}/_redline/status", timeout_s=10, token=token)
    if status != 200:
        raise SystemExit(f"the runtime's status route answered HTTP {status}")
    return json.loads(body)


def processed(status: dict) -> int:
    return int(sum(s["records_succeeded"] for s in status["event_source_mapping"].values()))


def iterator_age_ms(status: dict) -> float:
    return max(
        (s["last_iterator_age_ms"] for s in status["event_source_mapping"].values()), default=0.0
    )


def produce_paced(kinesis, stream: str, rate: int, seconds: int, produced: list[int]) -> None:
    """`rate` records/s in ten slices a second; never catches up missed slices silently."""
    slice_size = max(1, rate // 10)
    start = time.monotonic()
    for tick in range(seconds * 10):
        target = start + tick / 10
        delay = target - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        produced[0] += put(kinesis, stream, [make_event() for _ in range(slice_size)])


def scan_latencies(dynamodb, table: str) -> tuple[list[float], list[str]]:
    """stored_at - produced_at of every item (ms), and the event ids."""
    latencies, event_ids, kwargs = [], [], {"TableName": table}
    while True:
        page = dynamodb.scan(**kwargs)
        for item in page["Items"]:
            event_ids.append(item["event_id"]["S"])
            latencies.append(
                (float(item["stored_at"]["N"]) - float(item["produced_at"]["N"])) * 1000
            )
        if "LastEvaluatedKey" not in page:
            return latencies, event_ids
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def wait_processed(lambda_url: str, token: str, total: int, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if processed(runtime_status(lambda_url, token)) >= total:
            return time.monotonic()
        time.sleep(0.25)
    raise SystemExit(f"the runtime did not process {total} records within {timeout_s:.0f} s")


def noop_handler(event, context):
    """The runtime's ceiling: a consumer that does nothing (`--handler` target of phase 2)."""
    return {"batchItemFailures": []}


NOOP_HANDLER = "bench.bench_runtime.noop_handler"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--rate-per-shard", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--window", type=int, default=1, help="batching window (s)")
    parser.add_argument(
        "--backlog", type=int, default=20000, help="records put at once to measure the drain rate"
    )
    parser.add_argument(
        "--handler",
        action="append",
        default=[],
        help="kind=module.function, e.g. to bench a test handler",
    )
    parser.add_argument("--api-clients", type=int, default=8)
    parser.add_argument("--api-seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    handlers = dict(h.split("=", 1) for h in args.handler)
    with running_stack(args, handlers) as stack:
        deployed = steady_and_drain(args, stack)
    with running_stack(args, {**handlers, "ingest": NOOP_HANDLER}) as stack:
        ceiling = drain(stack, clients(stack)[0], args.backlog * 2)
    rate = args.rate_per_shard * args.shards
    limit_ms = (args.window + 1) * 1000
    max_age, ages, latencies, offered_rate, drain_rate, reads = deployed
    print(
        f"load: {rate} records/s offered over {args.shards} shard(s) for {args.seconds} s "
        f"(achieved {offered_rate:.0f}/s); batching window {args.window} s; deployed handler"
    )
    print(
        f"iterator age max (after 5 s warm-up): {max_age:.0f} ms; "
        f"ratio to window + 1 s: {max_age / limit_ms:.2f} "
        f"({'keeps up' if max_age < limit_ms else 'FALLS BEHIND'})"
    )
    print("iterator age each second (s): " + " ".join(f"{age / 1000:.1f}" for _, age in ages))
    print(
        f"end-to-end latency over {len(latencies)} records: "
        f"p50 {percentile(latencies, 50):.0f} ms, p95 {percentile(latencies, 95):.0f} ms, "
        f"p99 {percentile(latencies, 99):.0f} ms"
    )
    print(
        f"sustained with the deployed handler (backlog of {args.backlog}): {drain_rate:.0f} "
        f"records/s ({drain_rate / rate:.2f}x the steady load)"
    )
    read_rate, read_latencies, read_errors, statuses = reads
    print(
        f"HTTP API, {args.api_clients} keep-alive clients, GET /events/<id> (deployed handler): "
        f"{read_rate:.0f} requests/s, p50 {percentile(read_latencies, 50):.1f} ms, "
        f"p99 {percentile(read_latencies, 99):.1f} ms, statuses {dict(sorted(statuses.items()))}"
        f"{'' if not read_errors else ' (5xx: the API function at its reserved concurrency)'}"
    )
    print(
        f"runtime ceiling (no-op handler, backlog of {args.backlog * 2}): {ceiling:.0f} "
        f"records/s ({ceiling / rate:.2f}x the steady load)"
    )
    return 0


@contextlib.contextmanager
def running_stack(args, handlers: dict[str, str]):
    with tempfile.TemporaryDirectory(prefix="redline-bench-") as directory:
        state = Path(directory)
        stack = start_stack(
            env=bench_environment(state, args.shards, args.window),
            aws_port=0,
            api_port=0,
            lambda_port=0,
            state_dir=state / "state",
            handlers=handlers,
            gateway_args=GATEWAY_NO_LIMITS,
        )
        try:
            yield stack
        finally:
            stop_stack(stack)


def clients(stack):
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    config = Config(retries={"total_max_attempts": 1}, max_pool_connections=20)
    return (
        session.client("kinesis", endpoint_url=stack.aws_endpoint_url, config=config),
        session.client("dynamodb", endpoint_url=stack.aws_endpoint_url, config=config),
    )


def drain(stack, kinesis, count: int) -> float:
    """Records/s at which the mapping drains a backlog.

    Timed from the end of the puts over the records still waiting then (the runtime is behind
    for all of that interval); if the puts were the slower part, from the first put instead.
    """
    before = processed(runtime_status(stack.lambda_endpoint_url, stack.token))
    backlog = [make_event() for _ in range(count)]
    started = time.monotonic()
    for start in range(0, len(backlog), 500):
        put(kinesis, STREAM, backlog[start : start + 500])
    put_done = time.monotonic()
    waiting = before + count - processed(runtime_status(stack.lambda_endpoint_url, stack.token))
    done_at = wait_processed(stack.lambda_endpoint_url, stack.token, before + count, 300)
    if waiting >= count // 5:
        return waiting / (done_at - put_done)
    return count / (done_at - started)


def api_reads(stack, event_ids: list[str], clients_count: int, seconds: float):
    """Keep-alive clients reading stored events through the HTTP API: (req/s, latencies, 5xx)."""
    address = urlsplit(stack.api_url)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def reader(offset: int) -> None:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        mine, codes = [], {}
        end = time.monotonic() + seconds
        index = offset
        while time.monotonic() < end:
            started = time.perf_counter()
            connection.request("GET", f"/events/{event_ids[index % len(event_ids)]}")
            response = connection.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            codes[response.status] = codes.get(response.status, 0) + 1
            index += clients_count
        connection.close()
        with lock:
            latencies.extend(mine)
            for code, count in codes.items():
                statuses[code] = statuses.get(code, 0) + count

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(clients_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    server_errors = sum(count for code, count in statuses.items() if code >= 500)
    return len(latencies) / seconds, latencies, server_errors, statuses


def steady_and_drain(args, stack):
    kinesis, dynamodb = clients(stack)
    rate = args.rate_per_shard * args.shards
    produced = [0]
    producer = threading.Thread(
        target=produce_paced, args=(kinesis, STREAM, rate, args.seconds, produced)
    )
    started = time.monotonic()
    producer.start()
    ages: list[tuple[float, float]] = []
    while producer.is_alive():
        time.sleep(1.0)
        ages.append(
            (
                time.monotonic() - started,
                iterator_age_ms(runtime_status(stack.lambda_endpoint_url, stack.token)),
            )
        )
    producer.join()
    offered_rate = produced[0] / (time.monotonic() - started)
    wait_processed(stack.lambda_endpoint_url, stack.token, produced[0], 300)
    steady = [age for at, age in ages if at > 5] or [age for _, age in ages]
    latencies, event_ids = scan_latencies(dynamodb, TABLE)
    drain_rate = drain(stack, kinesis, args.backlog)
    api_reads(stack, event_ids, args.api_clients, 5.0)  # warm-up: environments start cold
    reads = api_reads(stack, event_ids, args.api_clients, args.api_seconds)
    return max(steady), ages, latencies, offered_rate, drain_rate, reads


if __name__ == "__main__":
    raise SystemExit(main())
