"""Counting what a limit let through from the client's side: what boto3 got back.

A limit test must not read the gateway's own metrics (they are stamped in the code path that
enforces the limit). Each call is timed on the client; a call sent and answered within one
wall-clock second was judged in that second, so the records it got accepted count toward that
second, and no second may hold more than the limit. Calls straddling a second count toward
the run's total only, which is bounded on both sides by the number of seconds the run touched.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class ClientCounts:
    calls: list[tuple[float, float, int]] = field(default_factory=list)  # sent, answered, n
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, call: Callable[[], int]) -> None:
        """Run `call` (returns what the reply accepted) and remember when it ran."""
        sent = time.time()
        accepted = call()
        answered = time.time()
        with self.lock:
            self.calls.append((sent, answered, accepted))

    @property
    def total(self) -> int:
        return sum(n for _, _, n in self.calls)

    def per_contained_second(self) -> dict[int, int]:
        seconds: dict[int, int] = defaultdict(int)
        for sent, answered, accepted in self.calls:
            if int(sent) == int(answered):
                seconds[int(sent)] += accepted
        return dict(seconds)

    def seconds_touched(self) -> int:
        first = min(sent for sent, _, _ in self.calls)
        last = max(answered for _, answered, _ in self.calls)
        return int(last) - int(first) + 1

    def seconds_fully_loaded(self) -> int:
        """Whole seconds between the first and the last call sent (load all through)."""
        first = min(sent for sent, _, _ in self.calls)
        last = max(sent for sent, _, _ in self.calls)
        return max(0, math.floor(last) - math.floor(first) - 1)

    def assert_limited_to(self, limit: int) -> None:
        """No second took more than `limit`, and the run as a whole carried the limit: at
        least `limit` a second through every fully loaded second, at most `limit` a second
        it touched."""
        assert self.calls, "no calls made"
        contained = self.per_contained_second()
        assert max(contained.values(), default=0) <= limit, contained
        assert self.total <= limit * self.seconds_touched(), (self.total, contained)
        assert self.total >= limit * self.seconds_fully_loaded(), (self.total, contained)
