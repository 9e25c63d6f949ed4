"""Open-model pacing: calls have intended start times fixed by the target rate.

The users of one process share one Pacer per user type. A user takes the next slot (its
intended start and how many units it carries), sleeps until then and fires; if every user is
busy the slot is taken late, and latency is still measured from the intended start, so the
queueing a slow pipeline causes is reported (coordinated omission corrected). A rate change
re-anchors the schedule at the change; slots missed before it are counted, not replayed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

# A process sends at least this many calls per second when the rate allows, so a low
# records/s still flows in small batches rather than one big batch every few seconds.
MIN_CALLS_PER_S = 10.0


@dataclass(frozen=True)
class Slot:
    intended_at: float  # epoch seconds
    units: int  # records (producer) or requests (reader) this call carries


def calls_per_second(rate: float, max_units_per_call: int) -> float:
    """Calls/s needed to carry `rate` units/s in calls of at most `max_units_per_call`."""
    if rate <= 0:
        return 0.0
    return max(rate / max_units_per_call, min(rate, MIN_CALLS_PER_S))


def units_in_slot(index: int, rate: float, calls_per_s: float) -> int:
    """Units of slot `index` so that the first n slots carry floor(n * rate / calls) units."""
    per_call = rate / calls_per_s
    return math.floor((index + 1) * per_call + 1e-9) - math.floor(index * per_call + 1e-9)


class Pacer:
    def __init__(self, max_units_per_call: int = 1, clock: Callable[[], float] = time.time):
        self.max_units_per_call = max_units_per_call
        self._clock = clock
        self.rate = 0.0
        self._calls_per_s = 0.0
        self._anchor = 0.0
        self._index = 0
        self.missed_units = 0  # units whose slots were still untaken at a rate change
        self.taken_units = 0

    def set_rate(self, rate: float, at: float | None = None) -> None:
        now = self._clock() if at is None else at
        if self._calls_per_s > 0:
            self.missed_units += self._units_due_before(now)
        self.rate = max(0.0, rate)
        self._calls_per_s = calls_per_second(self.rate, self.max_units_per_call)
        self._anchor = now
        self._index = 0

    def _units_due_before(self, when: float) -> int:
        due = math.floor((when - self._anchor) * self._calls_per_s)
        if due <= self._index:
            return 0
        per_call = self.rate / self._calls_per_s
        return math.floor(due * per_call + 1e-9) - math.floor(self._index * per_call + 1e-9)

    def take(self) -> Slot | None:
        """The next slot, or None while the rate is 0. Slots may lie in the past (late)."""
        while self._calls_per_s > 0:
            index = self._index
            self._index += 1
            units = units_in_slot(index, self.rate, self._calls_per_s)
            if units:
                self.taken_units += units
                return Slot(self._anchor + index / self._calls_per_s, units)
        return None

    def lag(self) -> float:
        """How far behind schedule the next slot is (seconds; 0 when on time)."""
        if self._calls_per_s <= 0:
            return 0.0
        return max(0.0, self._clock() - (self._anchor + self._index / self._calls_per_s))


E2E_POLL_S = 0.25  # resolution of produced->readable while the wait is short
# A probe waiting longer polls less often (5% of its wait, 2 s apart at most): a consumer
# falling behind must not be buried under the probes' own API calls, which are load too.
E2E_POLL_SHARE = 0.05
E2E_POLL_MAX_S = 2.0


def poll_interval(waited_s: float) -> float:
    """Seconds to an end-to-end probe's next poll: fine while short, coarser as it grows."""
    return min(max(E2E_POLL_S, waited_s * E2E_POLL_SHARE), E2E_POLL_MAX_S)
