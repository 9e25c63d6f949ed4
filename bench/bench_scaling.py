"""Benchmark of DynamoDB auto scaling on the local gateway: a 1 -> 3x write spike against a
200 WCU table with target tracking at 70 %, measured on the client side and set beside an
independent prediction of AWS's documented policy over the same offered load.

Time-scaled: one policy minute = --minute-s seconds (REDLINE_SCALING_MINUTE_S), the apply
delay one policy minute, and the burst capacity shrunk in the same proportion (300 policy
seconds), so the run keeps AWS's rules in a fraction of the wall-clock time.

    python -m bench.bench_scaling [--minute-s 5] [--base-minutes 4] [--spike-minutes 12]
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from pipeline.local.aws import start_gateway

CLIENT_CONFIG = Config(retries={"total_max_attempts": 1}, max_pool_connections=16)
TABLE_WCU = 200
TARGET = 70.0
MAX_WCU = 4000
BATCH = 25
TICK_S = 0.1


def client(service: str, endpoint: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=CLIENT_CONFIG,
    )


def predicted(demand: list[float], minute_s_real: float) -> tuple[int, int | None]:
    """AWS's documented policy over per-minute demand (units/s), written here independently of
    pipeline/autoscaling.py: (throttled minutes, minute of the first scale-out decision)."""
    capacity, balance = float(TABLE_WCU), TABLE_WCU * 300.0
    high, pending, first_out, throttled = 0, None, None, 0
    for minute, wanted in enumerate(demand):
        if pending is not None and pending[0] == minute:
            capacity, pending = pending[1], None
        room = capacity * 60 + min(balance, capacity * 300)
        served = min(wanted * 60, room)
        throttled += served < wanted * 60 - 1e-6
        balance = max(0.0, min(capacity * 300, balance + capacity * 60 - served))
        if pending is not None:
            continue
        high = high + 1 if served / 60 / capacity * 100 > TARGET else 0
        if high >= 2:
            new = min(MAX_WCU, math.ceil(served / 60 / (TARGET / 100)))
            if new > capacity:
                first_out = minute if first_out is None else first_out
                pending, high = (minute + 1, float(new)), 0
    return throttled, first_out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minute-s", type=float, default=5.0)
    parser.add_argument("--base-minutes", type=int, default=4)
    parser.add_argument("--spike-minutes", type=int, default=12)
    parser.add_argument("--spike-x", type=float, default=3.0, help="spike / base load")
    args = parser.parse_args()
    minute_s = args.minute_s
    os.environ["REDLINE_SCALING_MINUTE_S"] = str(minute_s)
    os.environ["REDLINE_SCALING_APPLY_DELAY_S"] = str(minute_s)
    burst_s = 300 * minute_s / 60
    # 1x = what the table carries at its target utilization (140 WCU/s), the spike a multiple
    base = TABLE_WCU * TARGET / 100
    spike = args.spike_x * base
    print(f"load average 1/5/15 min: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    state = Path(tempfile.mkdtemp(prefix="bench-scaling-"))
    with start_gateway(port=0, burst_seconds=burst_s, state_dir=state) as gw:
        dynamodb = client("dynamodb", gw.endpoint_url)
        scaling = client("application-autoscaling", gw.endpoint_url)
        table = f"bench-{uuid.uuid4().hex[:8]}"
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": TABLE_WCU},
        )
        key = {
            "ServiceNamespace": "dynamodb",
            "ResourceId": f"table/{table}",
            "ScalableDimension": "dynamodb:table:WriteCapacityUnits",
        }
        scaling.register_scalable_target(**key, MinCapacity=TABLE_WCU, MaxCapacity=MAX_WCU)
        scaling.put_scaling_policy(
            **key,
            PolicyName="bench",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": TARGET,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "DynamoDBWriteCapacityUtilization"
                },
            },
        )
        # start on the gateway's minute grid so client minutes and alarm minutes coincide
        start = (math.floor(time.time() / minute_s) + 1) * minute_s
        time.sleep(start - time.time())
        minutes = args.base_minutes + args.spike_minutes
        demand = [base] * args.base_minutes + [spike] * args.spike_minutes
        sent = [0] * minutes
        throttled = [0] * minutes
        lock = threading.Lock()
        counter = [0]

        def worker(share: int, shares: int) -> None:
            writer = client("dynamodb", gw.endpoint_url)
            owed = 0.0
            next_tick = start
            while True:
                now = time.time()
                minute = int((now - start) // minute_s)
                if minute >= minutes:
                    return
                owed += demand[minute] * TICK_S / shares
                while owed >= BATCH:
                    owed -= BATCH
                    with lock:
                        counter[0] += 1
                        first = counter[0] * BATCH
                    items = [
                        {"PutRequest": {"Item": {"id": {"S": f"{share}-{first + i}"}}}}
                        for i in range(BATCH)
                    ]
                    try:
                        reply = writer.batch_write_item(RequestItems={table: items})
                        refused = len(reply.get("UnprocessedItems", {}).get(table, []))
                    except ClientError as exc:
                        code = exc.response["Error"]["Code"]
                        assert code == "ProvisionedThroughputExceededException", code
                        refused = BATCH
                    with lock:
                        sent[minute] += BATCH
                        throttled[minute] += refused
                next_tick += TICK_S
                time.sleep(max(0.0, next_tick - time.time()))

        workers = [threading.Thread(target=worker, args=(i, 2)) for i in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(minutes * minute_s + 60)
        activities = scaling.describe_scaling_activities(**key)["ScalingActivities"]
        provisioned = dynamodb.describe_table(TableName=table)["Table"]["ProvisionedThroughput"]
    spike_start = start + args.base_minutes * minute_s
    first_throttle_minute = next((m for m, t in enumerate(throttled) if t), None)
    outs = sorted(a["StartTime"].timestamp() for a in activities)
    observed_minutes = sum(1 for t in throttled if t)
    predicted_minutes, predicted_first = predicted(demand, minute_s)
    print(
        f"policy minute = {minute_s:g} s (time-scaled), burst {burst_s:g} s, apply delay 1 minute"
    )
    print("minute  offered/s  throttled/s  (client side)")
    for m in range(minutes):
        print(f"{m:6d}  {sent[m] / minute_s:9.1f}  {throttled[m] / minute_s:11.1f}")
    print("scaling activities (oldest first):")
    for a in sorted(activities, key=lambda a: a["StartTime"]):
        at = (a["StartTime"].timestamp() - start) / minute_s
        print(f"  minute {at:5.2f}: {a['Description']} {a['StatusCode']}")
    print(f"final provisioned WCU: {provisioned['WriteCapacityUnits']}")
    if outs:
        first_out = (outs[0] - spike_start) / minute_s
        print(f"spike start -> first scale-out: {first_out:.2f} policy minutes")
    if first_throttle_minute is not None:
        print(f"first throttled minute: {first_throttle_minute}")
    print(f"spike {base:g} -> {spike:g} WCU/s against {TABLE_WCU} WCU at {TARGET:g} %")
    if predicted_first is not None:
        # a decision on minute m is taken when minute m ends
        ahead = predicted_first + 1 - args.base_minutes
        print(f"predicted spike start -> first scale-out: {ahead} policy minutes")
    print(f"throttled minutes: observed {observed_minutes}, predicted {predicted_minutes}")
    if predicted_minutes:
        print(f"observed / predicted throttled minutes: {observed_minutes / predicted_minutes:.2f}")
    print(f"load average 1/5/15 min: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
