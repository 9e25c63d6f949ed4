"""The capacity model: pure functions from a workload to shards, units, concurrency and cost.

AWS's arithmetic (docs/aws-limits.md). Per-operation rounding lives in
pipeline.capacity (shared with the local gateway) and is reused here; this module adds
sizing with a utilization target, hot-key ceilings, concurrency and monthly costs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pipeline import aws_limits as limits
from pipeline import capacity
from reports.prices import Prices

GIB = 1024**3

# Re-exported per-operation rules (one implementation, in pipeline.capacity).
write_units = capacity.write_units
read_units = capacity.read_units
query_read_units = capacity.query_read_units
batch_get_read_units = capacity.batch_get_read_units
put_payload_units = capacity.put_payload_units


# ---------------------------------------------------------------- DynamoDB


def provisioned_units(units_per_s: float, utilization: float) -> int:
    """Units to provision so that the load uses `utilization` (0..1] of them (at least 1)."""
    _check_utilization(utilization)
    if units_per_s < 0:
        raise ValueError(f"units_per_s must be >= 0, got {units_per_s}")
    # round() first so that 700 / 0.7 is 1000, not 1001 from float noise
    return max(1, math.ceil(round(units_per_s / utilization, 9)))


def table_write_units_per_s(records_per_s: float, item_bytes: int) -> float:
    """WCU/s the base table spends on one put per record."""
    return records_per_s * write_units(item_bytes)


def partition_ceiling_wcu_records_per_s(item_bytes: int) -> float:
    """Writes/s one partition key can take (1,000 WCU per partition, in every mode)."""
    return limits.DYNAMODB_PARTITION_MAX_WCU / write_units(item_bytes)


# ---------------------------------------------------------------- Kinesis


def shards_for(
    records_per_s: float, record_bytes: float, consumers: int = 1, utilization: float = 1.0
) -> int:
    """Shards to carry a write rate with every shard limit at or below `utilization`."""
    _check_utilization(utilization)
    if records_per_s < 0 or record_bytes < 0:
        raise ValueError("records_per_s and record_bytes must be >= 0")
    return capacity.shards_needed(
        round(records_per_s / utilization, 9), record_bytes, polling_consumers=consumers
    )


def shard_write_utilization(records_per_s: float, bytes_per_s: float, shards: int) -> float:
    """Share of the stream's write limit in use: the larger of the record and byte limits."""
    if shards < 1:
        raise ValueError(f"shards must be >= 1, got {shards}")
    return max(
        records_per_s / (shards * limits.KINESIS_SHARD_WRITE_RECORDS_PER_S),
        bytes_per_s / (shards * limits.KINESIS_SHARD_WRITE_BYTES_PER_S),
    )


def hot_key_ceiling_rps(hot_share: float, record_bytes: float) -> float | None:
    """Total records/s at which the hottest partition key fills its shard (None: no hot key).

    One key always lands on one shard: 1,000 records/s and 1 MiB/s whatever the shard count.
    """
    if hot_share <= 0:
        return None
    if hot_share > 1:
        raise ValueError(f"hot_share must be in 0..1, got {hot_share}")
    per_key = min(
        float(limits.KINESIS_SHARD_WRITE_RECORDS_PER_S),
        limits.KINESIS_SHARD_WRITE_BYTES_PER_S / max(record_bytes, 1.0),
    )
    return per_key / hot_share


def zipf_top_share(key_count: int, exponent: float) -> float:
    """Share of the records on the most frequent key of a Zipf(s) mix over N keys."""
    if key_count < 1:
        raise ValueError(f"key_count must be >= 1, got {key_count}")
    return 1.0 / sum(k ** (-exponent) for k in range(1, key_count + 1))


# ---------------------------------------------------------------- Lambda


def stream_concurrency(shards: int, parallelization_factor: int) -> int:
    """Concurrent invocations a Kinesis event source mapping can run."""
    return shards * parallelization_factor


def stream_invocations_per_s(records_per_s: float, shards: int, batch_size: int) -> float:
    """Batches a second: each shard is polled about once a second, more when it is behind."""
    if records_per_s <= 0:
        return 0.0
    per_shard = records_per_s / shards
    return shards * max(1.0, math.ceil(per_shard / batch_size))


def parallelization_needed(
    records_per_shard_s: float, ms_per_record: float, current: int = 1
) -> int:
    """Concurrent batches a shard needs to keep up (1..10), never below the current setting."""
    busy = records_per_shard_s * ms_per_record / 1000.0  # handler-seconds per second per shard
    return min(10, max(current, math.ceil(round(busy, 9)), 1))


def api_concurrency(requests_per_s: float, duration_ms: float) -> int:
    """Little's law: requests in flight = rate x time in the function."""
    return math.ceil(round(requests_per_s * duration_ms / 1000.0, 9))


# ---------------------------------------------------------------- monthly costs


@dataclass(frozen=True)
class Cost:
    total: float
    items: tuple[tuple[str, float], ...]


def _cost(*items: tuple[str, float]) -> Cost:
    return Cost(total=sum(v for _, v in items), items=tuple(items))


def kinesis_provisioned_cost(
    shards: int, records_per_s: float, record_bytes: float, retention_hours: int, prices: Prices
) -> Cost:
    p, hours = prices.kinesis, prices.hours_per_month
    units = records_per_s * put_payload_units(math.ceil(record_bytes)) * prices.seconds_per_month
    items = [
        ("shard-hours", shards * hours * p.shard_hour),
        ("PUT payload units", units / 1e6 * p.put_payload_units_per_million),
    ]
    if retention_hours > 24:
        items.append(("extended retention", shards * hours * p.extended_retention_shard_hour))
    return _cost(*items)


def kinesis_on_demand_cost(
    records_per_s: float, record_bytes: float, consumers: int, prices: Prices
) -> Cost:
    p = prices.kinesis
    seconds = prices.seconds_per_month
    rounded = math.ceil(record_bytes / limits.KIB) * limits.KIB
    gb_in = records_per_s * rounded * seconds / GIB
    gb_out = records_per_s * record_bytes * consumers * seconds / GIB
    return _cost(
        ("stream-hours", prices.hours_per_month * p.on_demand_stream_hour),
        ("data in", gb_in * p.on_demand_gb_in),
        ("data out", gb_out * p.on_demand_gb_out),
    )


def dynamodb_provisioned_cost(wcu: int, rcu: int, prices: Prices) -> Cost:
    p, hours = prices.dynamodb, prices.hours_per_month
    return _cost(("WCU-hours", wcu * hours * p.wcu_hour), ("RCU-hours", rcu * hours * p.rcu_hour))


def dynamodb_on_demand_cost(
    write_units_per_s: float, read_units_per_s: float, prices: Prices
) -> Cost:
    p, seconds = prices.dynamodb, prices.seconds_per_month
    return _cost(
        (
            "write request units",
            write_units_per_s * seconds / 1e6 * p.write_request_units_per_million,
        ),
        ("read request units", read_units_per_s * seconds / 1e6 * p.read_request_units_per_million),
    )


def lambda_cost(
    invocations_per_s: float, duration_ms: float, memory_mb: int, architecture: str, prices: Prices
) -> Cost:
    p, seconds = prices.lambda_, prices.seconds_per_month
    per_gb_s = p.gb_second_arm64 if architecture == "arm64" else p.gb_second_x86_64
    invocations = invocations_per_s * seconds
    gb_seconds = invocations * duration_ms / 1000.0 * memory_mb / 1024.0
    return _cost(
        ("requests", invocations / 1e6 * p.requests_per_million),
        ("GB-seconds", gb_seconds * per_gb_s),
    )


def api_gateway_cost(requests_per_s: float, prices: Prices) -> Cost:
    p = prices.api_gateway
    requests = requests_per_s * prices.seconds_per_month
    first = min(requests, p.http_tier_requests)
    rest = requests - first
    return _cost(
        (
            "HTTP API requests",
            first / 1e6 * p.http_requests_per_million
            + rest / 1e6 * p.http_requests_per_million_over_300m,
        )
    )


def _check_utilization(utilization: float) -> None:
    if not 0 < utilization <= 1:
        raise ValueError(f"utilization must be in (0, 1], got {utilization}")
