"""What the load generator itself costs on Fargate: a prediction before a run, the bill after.

Only the generator's tasks (one master + N workers); the pipeline's own cost is the capacity
report's. Prices come from reports/prices.json (`fargate`, On-Demand Linux: an upper bound
for Spot tasks). Fargate bills each task per second from the start of its image pull to its
stop, with a one-minute minimum.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pipeline.loadgen_config import LoadgenConfig
from reports.prices import Prices

# Beyond the scenario's duration, each task runs while it is pulled and started, while the
# workers join, and (master) while the audit drains and the run folder is written.
STARTUP_OVERHEAD_S = 90.0
MASTER_TAIL_S = 120.0


class BudgetError(Exception):
    """A run whose predicted generator cost is over the configured budget."""


@dataclass(frozen=True)
class TaskSize:
    vcpu: float
    memory_gb: float


def _rates(prices: Prices, architecture: str) -> tuple[float, float]:
    f = prices.fargate
    if architecture == "ARM64":
        return f.vcpu_hour_arm64, f.gb_hour_arm64
    return f.vcpu_hour_x86_64, f.gb_hour_x86_64


def task_cost(size: TaskSize, seconds: float, prices: Prices, architecture: str) -> float:
    vcpu_hour, gb_hour = _rates(prices, architecture)
    billed_s = max(seconds, prices.fargate.minimum_seconds)
    return (size.vcpu * vcpu_hour + size.memory_gb * gb_hour) * billed_s / 3600


def sizes(loadgen: LoadgenConfig) -> tuple[TaskSize, TaskSize]:
    master = TaskSize(loadgen.master_cpu / 1024, loadgen.master_memory_mb / 1024)
    worker = TaskSize(loadgen.worker_cpu / 1024, loadgen.worker_memory_mb / 1024)
    return master, worker


@dataclass(frozen=True)
class CostPrediction:
    workers: int
    duration_s: float
    usd: float
    usd_per_minute: float  # all tasks running together
    architecture: str
    spot: bool

    def describe(self, currency: str = "USD") -> str:
        spot = " (On-Demand prices: Spot costs less)" if self.spot else ""
        return (
            f"predicted generator cost: {self.usd:.4f} {currency} for 1 master + {self.workers}"
            f" worker task(s) over a {self.duration_s:.0f} s scenario"
            f" ({self.usd_per_minute:.4f} {currency}/minute while all run){spot}"
        )


def predict(
    loadgen: LoadgenConfig, workers: int, duration_s: float, prices: Prices
) -> CostPrediction:
    """A prediction from the configuration, not a bill: task sizes x time x price."""
    master, worker = sizes(loadgen)
    arch = loadgen.cpu_architecture
    worker_s = duration_s + STARTUP_OVERHEAD_S
    usd = task_cost(master, worker_s + MASTER_TAIL_S, prices, arch) + workers * task_cost(
        worker, worker_s, prices, arch
    )
    vcpu_hour, gb_hour = _rates(prices, arch)
    per_minute = sum(
        (s.vcpu * vcpu_hour + s.memory_gb * gb_hour) / 60 * n
        for s, n in ((master, 1), (worker, workers))
    )
    return CostPrediction(workers, duration_s, usd, per_minute, arch, loadgen.use_spot)


def check_budget(prediction: CostPrediction, budget_usd: float, allow_over: bool) -> None:
    if prediction.usd > budget_usd and not allow_over:
        raise BudgetError(
            f"the predicted generator cost {prediction.usd:.4f} USD is over loadgen.budget_usd"
            f" {budget_usd:.4f}: lower WORKERS or DURATION, raise loadgen.budget_usd in the"
            " environment file, or pass --over-budget to run anyway"
        )


def billed_cost(
    tasks: Iterable[dict], loadgen: LoadgenConfig, prices: Prices, now: datetime
) -> float:
    """The bill for tasks as ECS described them (pullStartedAt .. stoppedAt, or now)."""
    master, worker = sizes(loadgen)
    total = 0.0
    for task in tasks:
        started = task.get("pullStartedAt") or task.get("createdAt")
        if started is None:
            continue
        stopped = task.get("stoppedAt") or now
        size = master if "-master" in task.get("group", "") else worker
        seconds = (stopped - started).total_seconds()
        total += task_cost(size, seconds, prices, loadgen.cpu_architecture)
    return total
