"""The invocation's time budget: the remaining time of the Lambda context minus a margin."""

from __future__ import annotations

import time
from collections.abc import Callable


class TimeBudget:
    """Seconds left to start new work; read the context once, then count on a monotonic clock."""

    def __init__(
        self,
        remaining_s: float,
        safety_margin_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._ends_at = clock() + remaining_s - safety_margin_s

    def left(self) -> float:
        return self._ends_at - self._clock()

    def expired(self) -> bool:
        return self.left() <= 0
