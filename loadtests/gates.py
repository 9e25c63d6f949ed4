"""Gates: the SLOs a run must meet; a failed gate says which and by how much."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from loadtests.scenarios import Gates


@dataclass(frozen=True)
class GateResult:
    name: str
    limit: float
    actual: float
    passed: bool
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RunMeasures:
    """What the gates look at, measured over the judged part of the run."""

    p95_ms: float
    p99_ms: float
    error_rate: float
    lost: int | None  # None: no ingest, nothing to audit
    achieved_ratio: float | None  # accepted / target; None when not applicable


def _upper(name: str, limit: float, actual: float, unit: str, fmt: str = ".0f") -> GateResult:
    passed = actual <= limit
    over = actual - limit
    if passed:
        message = f"{name}: {actual:{fmt}}{unit} <= {limit:{fmt}}{unit}"
    else:
        message = (
            f"{name} failed: {actual:{fmt}}{unit} > limit {limit:{fmt}}{unit}"
            f" (over by {over:{fmt}}{unit})"
        )
    return GateResult(name, limit, actual, passed, message)


def evaluate(gates: Gates, measures: RunMeasures) -> list[GateResult]:
    results: list[GateResult] = []
    if gates.p95_ms is not None:
        results.append(_upper("latency_p95", gates.p95_ms, measures.p95_ms, " ms"))
    if gates.p99_ms is not None:
        results.append(_upper("latency_p99", gates.p99_ms, measures.p99_ms, " ms"))
    if gates.error_rate is not None:
        limit, actual = gates.error_rate, measures.error_rate
        passed = actual <= limit
        message = (
            f"error_rate: {actual:.2%} <= {limit:.2%}"
            if passed
            else f"error_rate failed: {actual:.2%} > limit {limit:.2%}"
            f" (over by {actual - limit:.2%})"
        )
        results.append(GateResult("error_rate", limit, actual, passed, message))
    if gates.max_lost is not None and measures.lost is not None:
        results.append(_upper("lost", gates.max_lost, measures.lost, " events"))
    if gates.min_achieved_ratio is not None and measures.achieved_ratio is not None:
        limit, actual = gates.min_achieved_ratio, measures.achieved_ratio
        passed = actual >= limit
        message = (
            f"achieved_rate: {actual:.1%} of target >= {limit:.1%}"
            if passed
            else f"achieved_rate failed: {actual:.1%} of target < {limit:.1%}"
            f" (short by {limit - actual:.1%})"
        )
        results.append(GateResult("achieved_rate", limit, actual, passed, message))
    return results
