"""AWS prices, in one data file (reports/prices.json) with region, currency and the date checked.

A user overrides any of them with their own JSON file (same shape, only the fields that
differ), named by `--prices FILE` or the `REDLINE_PRICES` environment variable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_PRICES = Path(__file__).resolve().parent / "prices.json"
PRICES_ENV = "REDLINE_PRICES"

Price = Annotated[float, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KinesisPrices(_Strict):
    shard_hour: Price
    put_payload_units_per_million: Price
    extended_retention_shard_hour: Price
    on_demand_stream_hour: Price
    on_demand_gb_in: Price
    on_demand_gb_out: Price


class DynamoDBPrices(_Strict):
    wcu_hour: Price
    rcu_hour: Price
    write_request_units_per_million: Price
    read_request_units_per_million: Price
    storage_gb_month: Price


class LambdaPrices(_Strict):
    requests_per_million: Price
    gb_second_x86_64: Price
    gb_second_arm64: Price


class ApiGatewayPrices(_Strict):
    http_requests_per_million: Price
    http_requests_per_million_over_300m: Price
    http_tier_requests: Annotated[int, Field(ge=0)]


class FargatePrices(_Strict):
    """On-Demand Fargate (Linux) per task: Spot is cheaper by a margin AWS varies, so a run
    priced here is an upper bound for Spot tasks."""

    source: str = ""
    vcpu_hour_x86_64: Price
    gb_hour_x86_64: Price
    vcpu_hour_arm64: Price
    gb_hour_arm64: Price
    minimum_seconds: Annotated[float, Field(ge=0)] = 60


class Prices(_Strict):
    region: str
    currency: str
    checked: str  # ISO date the prices were read from AWS's pages
    source: str = ""
    hours_per_month: Annotated[float, Field(gt=0, le=744)] = 730
    kinesis: KinesisPrices
    dynamodb: DynamoDBPrices
    # `lambda` is a Python keyword; the JSON key stays "lambda".
    lambda_: LambdaPrices = Field(alias="lambda")
    api_gateway: ApiGatewayPrices
    fargate: FargatePrices

    @property
    def seconds_per_month(self) -> float:
        return self.hours_per_month * 3600


class PricesError(ValueError):
    """A price file that cannot be used; the message names the file and the field."""


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise PricesError(f"price file {path} does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PricesError(
            f"price file {path} is not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise PricesError(f"price file {path} must hold a JSON object")
    return data


def load_prices(override: str | Path | None = None) -> Prices:
    """The default prices, with the user's file (argument, else $REDLINE_PRICES) laid over."""
    data = _read(DEFAULT_PRICES)
    source = str(DEFAULT_PRICES)
    chosen = override or os.environ.get(PRICES_ENV) or None
    if chosen:
        data = _merge(data, _read(Path(chosen)))
        source = str(chosen)
    try:
        return Prices.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            + (" (unknown field)" if e["type"] == "extra_forbidden" else "")
            for e in exc.errors()
        )
        raise PricesError(f"price file {source} is not usable: {problems}") from None
