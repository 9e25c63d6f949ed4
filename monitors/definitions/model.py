"""The shapes of the New Relic objects Redline defines as code.

NRQL text carries two placeholders, `${environment}` and `${account_id}`: Terraform's
`templatefile` fills them in the module, `render.fill` for the dashboard JSON made for
import through the UI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

ENVIRONMENT_PLACEHOLDER: Final = "${environment}"
ACCOUNT_PLACEHOLDER: Final = "${account_id}"
IN_ENVIRONMENT: Final = f"environment = '{ENVIRONMENT_PLACEHOLDER}'"

Visualization = Literal["line", "area", "billboard", "bar", "table"]
Operator = Literal["above", "above_or_equals", "below", "below_or_equals", "equals"]


@dataclass(frozen=True)
class Widget:
    title: str
    nrql: str
    visualization: Visualization = "line"
    width: int = 4
    height: int = 3
    thresholds: tuple[tuple[str, float], ...] = ()  # billboard: (severity, from value)


@dataclass(frozen=True)
class Page:
    name: str
    description: str
    widgets: tuple[Widget, ...]


@dataclass(frozen=True)
class Dashboard:
    name: str
    description: str
    pages: tuple[Page, ...]


@dataclass(frozen=True)
class Threshold:
    operator: Operator
    value: float
    duration_s: int
    occurrences: Literal["all", "at_least_once"] = "all"


@dataclass(frozen=True)
class AlertCondition:
    key: str  # Terraform for_each key
    name: str
    description: str
    nrql: str
    critical: Threshold
    warning: Threshold | None = None
    # Signal loss: open an incident when no data arrives for this long (None: off).
    loss_of_signal_s: int | None = None
    fill: Literal["none", "static", "last_value"] = "none"
    fill_value: float | None = None


@dataclass(frozen=True)
class EventSet:
    """One side of a service level indicator: SUM of a metric over Metric events."""

    metric: str
    where: str
    from_type: str = "Metric"
    function: Literal["SUM", "COUNT"] = "SUM"


@dataclass(frozen=True)
class ServiceLevel:
    key: str
    name: str
    description: str
    valid: EventSet
    good: EventSet
    target_percent: float
    window_days: int = 7
    tags: dict[str, str] = field(default_factory=dict)
