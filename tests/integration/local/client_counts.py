"""Counting what a limit let through from the client's side: what boto3 got back.

A limit test must not read the gateway's own metrics (they are stamped in the code path that
enforces the limit). Each call is timed on the client and judged by the gateway at one instant
between its sending and its answer. A call sent and answered within one wall-clock second was
judged in that second, so no second may hold more accepted than the limit; the run's total is
at most the limit times the seconds it touched. A second that only contained calls (no call
straddled into or out of it) is known completely: if anything was refused in it, exactly the
limit was accepted. These bounds hold however busy the machine is.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Call:
    sent: float
    answered: float
    accepted: int
    refused: int

    @property
    def contained(self) -> bool:
        return int(self.sent) == int(self.answered)


@dataclass
class ClientCounts:
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, call: Callable[[], int | tuple[int, int]]) -> None:
        """Run `call` (returns what the reply accepted, or (accepted, refused))."""
        sent = time.time()
        outcome = call()
        answered = time.time()
        accepted, refused = outcome if isinstance(outcome, tuple) else (outcome, 0)
        with self.lock:
            self.calls.append(Call(sent, answered, accepted, refused))

    @property
    def total(self) -> int:
        return sum(c.accepted for c in self.calls)

    def per_contained_second(self) -> dict[int, int]:
        seconds: dict[int, int] = defaultdict(int)
        for c in self.calls:
            if c.contained:
                seconds[int(c.sent)] += c.accepted
        return dict(seconds)

    def closed_seconds(self) -> dict[int, tuple[int, int]]:
        """Seconds no call straddled: {second: (accepted, refused)} of all their calls."""
        straddled = {
            s
            for c in self.calls
            if not c.contained
            for s in range(int(c.sent), int(c.answered) + 1)
        }
        seconds: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for c in self.calls:
            if c.contained and int(c.sent) not in straddled:
                seconds[int(c.sent)][0] += c.accepted
                seconds[int(c.sent)][1] += c.refused
        return {s: (a, r) for s, (a, r) in seconds.items()}

    def seconds_touched(self) -> int:
        first = min(c.sent for c in self.calls)
        last = max(c.answered for c in self.calls)
        return int(last) - int(first) + 1

    def assert_limited_to(self, limit: int) -> None:
        assert self.calls, "no calls made"
        contained = self.per_contained_second()
        assert max(contained.values(), default=0) <= limit, contained
        assert self.total <= limit * self.seconds_touched(), (self.total, contained)
        for second, (accepted, refused) in self.closed_seconds().items():
            if refused:  # the limit was reached in that second: all of it was given
                assert accepted == limit, (second, accepted, refused)
