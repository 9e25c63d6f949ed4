"""Sizing for growth: what a target rate needs and costs, each option side by side, and the
environment file that carries it."""

from __future__ import annotations

import copy
import difflib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from pipeline import aws_limits as limits
from pipeline.config import BillingMode, EnvironmentConfig, StreamMode, parse_environment
from reports import model
from reports.analysis import Workload
from reports.prices import Prices

DEFAULT_UTILIZATION = 0.70
GROWTH_MULTIPLIERS = (1, 2, 5, 10)
DEFAULT_CHOSEN_MULTIPLIER = 2
STREAM_CONSUMERS = 1  # the ingest Lambda's poller is the stream's only reader
MAX_WCU, MAX_RCU = limits.DYNAMODB_MAX_TABLE_WCU, limits.DYNAMODB_MAX_TABLE_RCU


@dataclass(frozen=True)
class Option:
    name: str
    cost: model.Cost


@dataclass(frozen=True)
class Choice:
    service: str
    options: tuple[Option, ...]

    @property
    def cheaper(self) -> Option:
        return min(self.options, key=lambda o: o.cost.total)


@dataclass
class Sizing:
    label: str  # "2x", "target"
    records_per_s: float
    reads_per_s: float
    shards: int  # at the utilization target
    shards_at_limit: int
    table_wcu: int  # provisioned, at the utilization target
    index_wcu: int
    table_rcu: int
    index_rcu: int
    write_units_per_s: float  # table + index, what on-demand bills
    read_units_per_s: float
    parallelization_factor: int
    ingest_concurrency: int
    api_concurrency: int
    api_rate_limit: int
    utilization: float
    choices: tuple[Choice, ...]
    warnings: list[str] = field(default_factory=list)

    @property
    def api_reserved_concurrency(self) -> int:
        return math.ceil(round(self.api_concurrency / self.utilization, 9))

    @property
    def cheapest_total(self) -> float:
        return sum(c.cheaper.cost.total for c in self.choices)

    def choice(self, service: str) -> Choice:
        return next(c for c in self.choices if c.service == service)


def size(
    label: str,
    records_per_s: float,
    reads_per_s: float,
    workload: Workload,
    env: EnvironmentConfig,
    prices: Prices,
    utilization: float = DEFAULT_UTILIZATION,
) -> Sizing:
    """Everything a rate needs, at `utilization` of each provisioned limit."""
    rec = workload.record_bytes
    shards = model.shards_for(records_per_s, rec, STREAM_CONSUMERS, utilization)
    shards_at_limit = model.shards_for(records_per_s, rec, STREAM_CONSUMERS, 1.0)
    wcu_s = records_per_s * workload.write_units_per_record  # base table; the index spends as much
    rcu_s = reads_per_s * workload.read_units_per_request
    index_rcu_s = rcu_s * workload.query_share
    table_rcu_s = rcu_s - index_rcu_s
    table_wcu = model.provisioned_units(wcu_s, utilization)
    index_wcu = model.provisioned_units(wcu_s, utilization)
    table_rcu = model.provisioned_units(table_rcu_s, utilization)
    index_rcu = model.provisioned_units(index_rcu_s, utilization)
    per_shard = records_per_s / shards
    pf = model.parallelization_needed(
        per_shard, workload.ingest_ms_per_record, env.ingest.parallelization_factor
    )
    ingest_concurrency = model.stream_concurrency(shards, pf)
    api_conc = max(
        model.api_concurrency(reads_per_s, workload.api_ms),
        math.ceil(round(reads_per_s * workload.api_concurrency_per_rps, 9)),
    )
    api_rate = max(int(env.api.throttling_rate_limit), math.ceil(reads_per_s / utilization))
    api_rate = min(api_rate, limits.APIGW_ACCOUNT_RATE)

    invocations = model.stream_invocations_per_s(records_per_s, shards, env.ingest.batch_size)
    records_per_invocation = records_per_s / invocations if invocations else 0.0
    ingest_ms = records_per_invocation * workload.ingest_ms_per_record
    arch = env.lambda_architecture
    choices = [
        Choice(
            "Kinesis",
            (
                Option(
                    "provisioned",
                    model.kinesis_provisioned_cost(
                        shards, records_per_s, rec, env.stream.retention_hours, prices
                    ),
                ),
                Option(
                    "on-demand",
                    model.kinesis_on_demand_cost(records_per_s, rec, STREAM_CONSUMERS, prices),
                ),
            ),
        ),
        Choice(
            "DynamoDB",
            (
                Option(
                    "provisioned",
                    model.dynamodb_provisioned_cost(
                        table_wcu + index_wcu, table_rcu + index_rcu, prices
                    ),
                ),
                Option("on-demand", model.dynamodb_on_demand_cost(2 * wcu_s, rcu_s, prices)),
            ),
        ),
        Choice(
            "Lambda",
            (
                Option(
                    "ingest + API",
                    _plus(
                        model.lambda_cost(
                            invocations, ingest_ms, env.ingest.memory_mb, arch, prices
                        ),
                        model.lambda_cost(
                            reads_per_s, workload.api_ms, env.api.memory_mb, arch, prices
                        ),
                    ),
                ),
            ),
        ),
    ]
    if reads_per_s > 0:
        choices.append(
            Choice(
                "API Gateway", (Option("HTTP API", model.api_gateway_cost(reads_per_s, prices)),)
            )
        )
    sizing = Sizing(
        label=label,
        records_per_s=records_per_s,
        reads_per_s=reads_per_s,
        shards=shards,
        shards_at_limit=shards_at_limit,
        table_wcu=table_wcu,
        index_wcu=index_wcu,
        table_rcu=table_rcu,
        index_rcu=index_rcu,
        write_units_per_s=2 * wcu_s,
        read_units_per_s=rcu_s,
        parallelization_factor=pf,
        ingest_concurrency=ingest_concurrency,
        api_concurrency=api_conc,
        api_rate_limit=api_rate,
        utilization=utilization,
        choices=tuple(choices),
    )
    sizing.warnings = _warnings(sizing, workload)
    return sizing


def _plus(a: model.Cost, b: model.Cost) -> model.Cost:
    merged: dict[str, float] = {}
    for name, value in (*a.items, *b.items):
        merged[name] = merged.get(name, 0.0) + value
    return model.Cost(total=a.total + b.total, items=tuple(merged.items()))


def _warnings(s: Sizing, workload: Workload) -> list[str]:
    out = []
    ceiling = model.hot_key_ceiling_rps(workload.hot_key_share, workload.record_bytes)
    if ceiling is not None and s.records_per_s > ceiling:
        out.append(
            f"hot key: one key carries {workload.hot_key_share:.0%} of the records, so its shard"
            f" caps the stream at {ceiling:,.0f} records/s whatever the shard count:"
            " spread the key (e.g. a suffix) before adding shards"
        )
    if s.shards > limits.KINESIS_MAX_SHARDS_PER_STREAM:
        out.append(
            f"{s.shards:,} shards is over the {limits.KINESIS_MAX_SHARDS_PER_STREAM:,} limit"
        )
    for name, units, quota in (
        ("table WCU", s.table_wcu, limits.DYNAMODB_MAX_TABLE_WCU),
        ("table RCU", s.table_rcu, limits.DYNAMODB_MAX_TABLE_RCU),
    ):
        if units > quota:
            out.append(f"{units:,} {name} is over the {quota:,} per-table quota (ask AWS)")
    concurrency = s.ingest_concurrency + s.api_concurrency
    if concurrency > limits.LAMBDA_ACCOUNT_CONCURRENCY:
        out.append(
            f"{concurrency:,} concurrent executions is over the account's default"
            f" {limits.LAMBDA_ACCOUNT_CONCURRENCY:,}"
        )
    if s.reads_per_s > limits.APIGW_ACCOUNT_RATE:
        out.append(f"{s.reads_per_s:,.0f} requests/s is over API Gateway's account rate")
    if s.records_per_s > limits.KINESIS_ON_DEMAND_INITIAL_WRITE_RECORDS_PER_S:
        out.append(
            "Kinesis on-demand starts at 4 MiB/s (about 4,000 records/s) and serves 2x the"
            " previous peak: warm it up or pre-scale before relying on it"
        )
    if s.write_units_per_s / 2 > limits.DYNAMODB_ON_DEMAND_INITIAL_WRITES_PER_S:
        out.append(
            "DynamoDB on-demand starts at 4,000 writes/s and serves 2x the previous peak:"
            " warm the table before relying on it"
        )
    return out


def targets(knee_rps: float, target_rate: float | None) -> list[tuple[str, float]]:
    """(label, records/s) rows of the sizing table; the target, when given, is added."""
    rows = [(f"{k}x", knee_rps * k) for k in GROWTH_MULTIPLIERS]
    if target_rate is not None:
        rows = [r for r in rows if not math.isclose(r[1], target_rate)]
        rows.append(("target", target_rate))
        rows.sort(key=lambda r: r[1])
    return rows


def _set(data: dict[str, Any], path: str, value: Any, why: list[str], reason: str) -> None:
    """Set a dotted field of the environment file; note the change when it is one."""
    *parents, leaf = path.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    old = node.get(leaf)
    node[leaf] = value
    if old != value:
        direction = ""
        if isinstance(old, int | float) and isinstance(value, int | float):
            direction = " (lower: more than the target needs)" if value < old else ""
        why.append(f"{path} {old} -> {value}: {reason}{direction}")


def _mode(choice: Choice, current: Any, on_demand: Any, keep: bool) -> Any:
    """The run's capacity mode, or the cheaper of provisioned and on-demand."""
    if keep:
        return current
    return on_demand if choice.cheaper.name == "on-demand" else type(current)("PROVISIONED")


def recommend(
    env: EnvironmentConfig,
    sizing: Sizing,
    keep_modes: bool = False,
    as_used: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The environment file that carries the sizing, and why each change was made.

    Starts from the file as the run used it (`as_used`, run.json's `environment`), so the diff
    shows only what the target changes; the result must validate as an environment file.
    """
    data = copy.deepcopy(as_used if as_used is not None else env.model_dump(mode="json"))
    why: list[str] = []
    kinesis, dynamodb = sizing.choice("Kinesis"), sizing.choice("DynamoDB")
    if sizing.records_per_s > 0:  # a read-only run says nothing about the write side
        stream_mode = _mode(kinesis, env.stream.mode, StreamMode.ON_DEMAND, keep_modes)
        _set(data, "stream.mode", stream_mode.value, why, "the cheaper option for the target")
        _set(
            data,
            "stream.shard_count",
            min(sizing.shards, limits.KINESIS_MAX_SHARDS_PER_STREAM),
            why,
            f"{sizing.records_per_s:,.0f} records/s ({sizing.shards_at_limit} shard(s) at 100%)",
        )
    billing = _mode(dynamodb, env.table.billing_mode, BillingMode.PAY_PER_REQUEST, keep_modes)
    _set(data, "table.billing_mode", billing.value, why, "the cheaper option for the target")
    writes = "each base-table write also writes the GSI"
    if sizing.records_per_s > 0:
        _set(data, "table.write_capacity", min(sizing.table_wcu, MAX_WCU), why, "table writes")
        _set(data, "table.type_index.write_capacity", min(sizing.index_wcu, MAX_WCU), why, writes)
    if sizing.reads_per_s > 0:
        _set(data, "table.read_capacity", min(sizing.table_rcu, MAX_RCU), why, "API GetItem")
        _set(data, "table.type_index.read_capacity", min(sizing.index_rcu, MAX_RCU), why, "queries")
    autoscaling = data["table"].get("autoscaling")
    if autoscaling is not None and env.table.autoscaling.enabled:
        for field_name, units, cap in (
            ("max_write_capacity", sizing.table_wcu, MAX_WCU),
            ("max_read_capacity", sizing.table_rcu, MAX_RCU),
        ):
            current = autoscaling.get(field_name, getattr(env.table.autoscaling, field_name))
            _set(
                data,
                f"table.autoscaling.{field_name}",
                max(current, min(units * 2, cap)),
                why,
                "room for autoscaling above the provisioned units",
            )
    if sizing.records_per_s > 0:
        _set(
            data,
            "ingest.parallelization_factor",
            sizing.parallelization_factor,
            why,
            "concurrent batches a shard needs at the measured handler time",
        )
        if env.ingest.reserved_concurrency >= 0:
            _set(
                data,
                "ingest.reserved_concurrency",
                min(
                    max(env.ingest.reserved_concurrency, sizing.ingest_concurrency),
                    limits.LAMBDA_ACCOUNT_CONCURRENCY,
                ),
                why,
                "shards x parallelization factor",
            )
    if sizing.reads_per_s > 0:
        if env.api.reserved_concurrency >= 0:
            _set(
                data,
                "api.reserved_concurrency",
                min(
                    max(env.api.reserved_concurrency, sizing.api_reserved_concurrency),
                    limits.LAMBDA_ACCOUNT_CONCURRENCY,
                ),
                why,
                f"{sizing.api_concurrency} in flight at {sizing.reads_per_s:,.0f} requests/s",
            )
        if sizing.api_rate_limit > env.api.throttling_rate_limit:
            _set(
                data,
                "api.throttling_rate_limit",
                float(sizing.api_rate_limit),
                why,
                "the route's rate limit above the target's requests/s",
            )
            _set(
                data,
                "api.throttling_burst_limit",
                min(
                    max(env.api.throttling_burst_limit, sizing.api_rate_limit // 2),
                    limits.APIGW_ACCOUNT_BURST,
                ),
                why,
                "half the rate limit",
            )
    parse_environment(data, source="recommended environment")  # must stay a valid file
    return data, why


def tfvars_text(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2) + "\n"


def tfvars_diff(before: dict[str, Any], after: dict[str, Any], name: str) -> str:
    return "".join(
        difflib.unified_diff(
            tfvars_text(before).splitlines(keepends=True),
            tfvars_text(after).splitlines(keepends=True),
            fromfile=f"{name} (as used by the run)",
            tofile="recommended.tfvars.json",
        )
    )
