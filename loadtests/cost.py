"""What a load test against AWS may cost at most, and the confirmation before it starts.

A prediction from the scenario and the environment file (labelled as one), priced from the
one price table (reports/prices.json). Pipeline side only: what the run makes the stream,
the table, the functions and the API do, plus the provisioned capacity the stack already
pays for while the run lasts. Load-generator machines are priced elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from loadtests.clients import RetryPolicy
from loadtests.scenarios import Scenario, plan
from pipeline import capacity
from pipeline.config import BillingMode, EnvironmentConfig, StreamMode
from reports.prices import Prices

# What the stack adds to each event's JSON in the table (arrived_at, stored_at, expires_at,
# sequence_number and their names).
STORED_ITEM_OVERHEAD_BYTES = 140
# Calls the run makes whatever its rate: reachability checks, audit drain checks, CloudWatch.
NOT_PRICED = (
    "CloudWatch GetMetricData, SQS receives of the audit and KMS requests are not in the"
    " price table and not counted"
)
BUDGET_EXIT = 2


class CostError(ValueError):
    """A run the budget refuses or the user did not confirm; the message is one line."""


@dataclass(frozen=True)
class RunEstimate:
    """Worst case of one run: every record at the scenario's highest rate for its duration."""

    records: int
    put_records_calls: int  # first attempts and every retry the producer may make
    api_requests: int
    stored_item_bytes: int
    lines: dict[str, float] = field(default_factory=dict)  # what -> USD
    currency: str = "USD"
    prices_checked: str = ""

    @property
    def total(self) -> float:
        return sum(self.lines.values())

    def text(self) -> str:
        out = [
            "worst case of this run (a prediction from the scenario and the environment file,"
            " not a measurement):",
            f"  records put          {self.records:,}",
            f"  PutRecords calls     {self.put_records_calls:,} (with every retry)",
            f"  API requests         {self.api_requests:,}",
        ]
        for what, usd in self.lines.items():
            out.append(f"  {what:<48} {usd:10.4f} {self.currency}")
        out.append(
            f"  {'estimated cost, at most':<48} {self.total:10.4f} {self.currency}"
            f" (prices checked {self.prices_checked})"
        )
        out.append(f"  {NOT_PRICED}")
        return "\n".join(out)


def worst_case_counts(scenario: Scenario) -> tuple[int, int, int]:
    """(records, ingest rate-seconds bound, API requests) at most, shape by shape."""
    probes = scenario.probe_rate if scenario.mix != "read" else 0.0
    if scenario.shape == "capacity":
        records = scenario.rate * scenario.duration_s
        reads = scenario.read_rate * scenario.duration_s if scenario.mix != "ingest" else 0.0
    else:
        phases = plan(scenario)
        records = sum(p.rate * p.duration_s for p in phases)
        reads = sum(p.read_rate * p.duration_s for p in phases)
    # Each end-to-end probe puts one record and polls the API until it is readable.
    records += probes * scenario.duration_s
    reads += probes * scenario.duration_s * 20
    return math.ceil(records), math.ceil(records / scenario.batch_size), math.ceil(reads)


def estimate(
    scenario: Scenario,
    environment: EnvironmentConfig,
    prices: Prices,
) -> RunEstimate:
    records, calls, reads = worst_case_counts(scenario)
    calls *= RetryPolicy().max_attempts
    hours = (scenario.duration_s + scenario.drain_timeout_s) / 3600  # the load, then the drain
    item_bytes = scenario.record_bytes + STORED_ITEM_OVERHEAD_BYTES
    k, d, lam, api = prices.kinesis, prices.dynamodb, prices.lambda_, prices.api_gateway
    lines: dict[str, float] = {}

    stream = environment.stream
    if stream.mode is StreamMode.PROVISIONED:
        lines["Kinesis shard-hours (stack, run time)"] = stream.shard_count * hours * k.shard_hour
        units = records * capacity.put_payload_units(scenario.record_bytes + 64)
        lines["Kinesis PUT payload units"] = units / 1e6 * k.put_payload_units_per_million
    else:
        gigabytes = records * (scenario.record_bytes + 64) / 1e9
        lines["Kinesis on-demand stream-hours"] = hours * k.on_demand_stream_hour
        lines["Kinesis on-demand data in + out"] = gigabytes * (
            k.on_demand_gb_in + k.on_demand_gb_out
        )

    table = environment.table
    write_units = capacity.write_units(item_bytes) * 2  # the table and its by-type index
    # The audit reads each acknowledged id once (BatchGetItem, eventually consistent) and
    # the drain check reads the last ids again while it waits.
    audit_read_units = records * capacity.read_units(item_bytes, consistent=False) * 1.1
    if table.billing_mode is BillingMode.PROVISIONED:
        capacity_hours = (table.write_capacity + table.type_index.write_capacity) * d.wcu_hour + (
            table.read_capacity + table.type_index.read_capacity
        ) * d.rcu_hour
        lines["DynamoDB provisioned capacity (stack)"] = capacity_hours * hours
    else:
        lines["DynamoDB write request units"] = (
            records * write_units / 1e6 * d.write_request_units_per_million
        )
        lines["DynamoDB read request units (audit)"] = (
            audit_read_units / 1e6 * d.read_request_units_per_million
        )
        lines["DynamoDB read request units (API)"] = (
            reads
            * capacity.read_units(item_bytes, consistent=False)
            / 1e6
            * d.read_request_units_per_million
        )

    gb_second = (
        lam.gb_second_arm64
        if environment.lambda_architecture == "arm64"
        else (lam.gb_second_x86_64)
    )
    # At most shards x parallelization factor ingest environments busy for the whole run.
    concurrency = (stream.shard_count if stream.mode is StreamMode.PROVISIONED else 1) * (
        environment.ingest.parallelization_factor
    )
    ingest_gb_s = concurrency * hours * 3600 * environment.ingest.memory_mb / 1024
    invocations = records + reads  # at most one ingest invocation per record
    lines["Lambda requests"] = invocations / 1e6 * lam.requests_per_million
    lines["Lambda ingest duration (all busy)"] = ingest_gb_s * gb_second
    api_gb_s = reads * environment.api.timeout_seconds * environment.api.memory_mb / 1024
    lines["Lambda API duration (every call at its timeout)"] = api_gb_s * gb_second
    lines["API Gateway HTTP requests"] = reads / 1e6 * api.http_requests_per_million
    return RunEstimate(
        records=records,
        put_records_calls=calls,
        api_requests=reads,
        stored_item_bytes=item_bytes,
        lines={k_: round(v, 6) for k_, v in lines.items()},
        currency=prices.currency,
        prices_checked=prices.checked,
    )


def confirm(
    run_estimate: RunEstimate,
    budget: float | None,
    yes: bool,
    ask: Callable[[str], str] | None,
) -> None:
    """Refuse a run over the budget; otherwise go on with --yes or a typed "yes".

    `ask` is None when there is no terminal to ask (CI): then only --yes goes on."""
    total = run_estimate.total
    if budget is not None and total > budget:
        raise CostError(
            f"--budget: the run may cost up to {total:.2f} {run_estimate.currency}, over the"
            f" budget of {budget:.2f}; lower RATE or DURATION, or raise BUDGET"
        )
    if yes:
        return
    if ask is None:
        raise CostError(
            "TARGET=aws needs confirmation: pass --yes (YES=1 with make) to accept the"
            f" estimate of up to {total:.2f} {run_estimate.currency}"
        )
    answer = ask(f"run against AWS for up to {total:.2f} {run_estimate.currency}? [yes/no] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise CostError("not confirmed: nothing was started")
