"""Workers of a distributed run: who joined, who was lost mid-run, and what the run does then.

Locust's master drops a worker that quits or misses its heartbeats (about 3 s) and hands its
users to the rest, but the rate each worker was told to offer is Redline's: without a new
share the remaining workers keep offering their old share and the total falls short. The
setting `on_worker_loss` decides: `fail` (the default) ends the run with a clear error, since
a step measured while the load generator shrank is not a measurement of the pipeline;
`continue` re-divides the current rates among the workers left and reports the loss in the
run folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

ON_WORKER_LOSS = ("fail", "continue")
DEFAULT_ON_WORKER_LOSS = "fail"
WATCH_EVERY_S = 1.0


class WorkerLost(Exception):
    """Raised into the controller's run when a worker is lost and the setting is `fail`."""


def check_on_worker_loss(value: str) -> str:
    if value not in ON_WORKER_LOSS:
        raise ValueError(
            f"ON_WORKER_LOSS must be one of {', '.join(ON_WORKER_LOSS)}, got {value!r}"
        )
    return value


@dataclass
class WorkerLoss:
    at: float
    lost: list[str]
    remaining: int


@dataclass
class WorkerWatch:
    """Compares the workers the master sees with those that started the run."""

    policy: str = DEFAULT_ON_WORKER_LOSS
    started_with: set[str] = field(default_factory=set)
    losses: list[WorkerLoss] = field(default_factory=list)

    def begin(self, worker_ids: Iterable[str]) -> None:
        self.started_with = set(worker_ids)

    def check(self, alive_ids: Iterable[str], now: float | None = None) -> WorkerLoss | None:
        """A new loss since the last check, or None."""
        alive = set(alive_ids)
        already = {w for loss in self.losses for w in loss.lost}
        lost = sorted(self.started_with - alive - already)
        if not lost:
            return None
        loss = WorkerLoss(now or time.time(), lost, len(alive & self.started_with))
        self.losses.append(loss)
        return loss

    def message(self, loss: WorkerLoss) -> str:
        return (
            f"{len(loss.lost)} Locust worker(s) lost mid-run ({', '.join(loss.lost)});"
            f" {loss.remaining} of {len(self.started_with)} left"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "on_worker_loss": self.policy,
            "workers_at_start": len(self.started_with),
            "losses": [asdict(loss) for loss in self.losses],
        }


def alive_worker_ids(runner: Any) -> list[str]:
    """Workers the master counts as working (ready, spawning or running; not missing)."""
    clients = runner.clients
    return [w.id for w in [*clients.ready, *clients.spawning, *clients.running]]


def watch(
    runner: Any,
    watcher: WorkerWatch,
    on_loss: Callable[[WorkerLoss], None],
    sleep: Callable[[float], None],
) -> None:
    """Runs in a greenlet beside the controller: calls `on_loss` for each new loss."""
    while True:
        sleep(WATCH_EVERY_S)
        loss = watcher.check(alive_worker_ids(runner))
        if loss is not None:
            on_loss(loss)
