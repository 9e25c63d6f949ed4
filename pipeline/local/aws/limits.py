"""Rate limiters the gateway enforces, all thread-safe and driven by an injectable clock.

- `SecondWindow`: counts per wall-clock second (Kinesis shard writes, GetRecords calls,
  DynamoDB per-partition caps). AWS states these limits per second and documents no burst;
  aligning the window to the clock second also matches how the per-second metrics are read.
- `TokenBucket`: refill = rate per second, size = burst seconds x rate; a request is admitted
  while the balance is positive and debited afterwards with what it really cost, so the balance
  may go negative and later requests wait for the debt to be repaid (DynamoDB capacity,
  Kinesis read bytes: one 10 MiB GetRecords call then blocks the shard for 5 s at 2 MiB/s).
- `PeakTracker`: the on-demand rule "up to 2x the previous peak within a window".
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]


class SecondWindow:
    """Amounts used in the current clock second, against per-second limits."""

    __slots__ = ("_clock", "limits", "second", "used")

    def __init__(self, limits: tuple[float, ...], clock: Clock = time.time) -> None:
        self._clock = clock
        self.limits = limits
        self.second = -1
        self.used = [0.0] * len(limits)

    def _roll(self, at: float | None) -> None:
        now = int(self._clock() if at is None else at)
        if now > self.second:
            self.second = now
            self.used = [0.0] * len(self.limits)

    def try_take(self, *amounts: float, at: float | None = None) -> bool:
        """Take the amounts if every limit still holds them in the second of `at` (default
        now); the caller holds a lock. A whole call is judged at one instant."""
        self._roll(at)
        for used, amount, limit in zip(self.used, amounts, self.limits, strict=True):
            if used + amount > limit:
                return False
        for i, amount in enumerate(amounts):
            self.used[i] += amount
        return True

    def fits(self, *amounts: float, at: float | None = None) -> bool:
        """Would these amounts fit this second? (takes nothing)"""
        self._roll(at)
        return all(
            used + amount <= limit
            for used, amount, limit in zip(self.used, amounts, self.limits, strict=True)
        )

    def take(self, *amounts: float, at: float | None = None) -> None:
        """Count amounts unconditionally (e.g. after the fact)."""
        self._roll(at)
        for i, amount in enumerate(amounts):
            self.used[i] += amount


class TokenBucket:
    """Refill `rate` per second up to `rate * burst_seconds` (at least one second's worth)."""

    __slots__ = ("_clock", "balance", "rate", "size", "stamp")

    def __init__(self, rate: float, burst_seconds: float, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self.rate = float(rate)
        self.size = self.rate * max(1.0, float(burst_seconds))
        self.balance = self.size
        self.stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self.balance = min(self.size, self.balance + (now - self.stamp) * self.rate)
        self.stamp = now

    def available(self) -> float:
        self._refill()
        return self.balance

    def has_capacity(self) -> bool:
        return self.available() > 0

    def debit(self, amount: float) -> None:
        self._refill()
        self.balance -= amount

    def resize(self, rate: float, burst_seconds: float) -> None:
        """New provisioned rate: keep the balance, clip it to the new size."""
        self._refill()
        self.rate = float(rate)
        self.size = self.rate * max(1.0, float(burst_seconds))
        self.balance = min(self.balance, self.size)


class PeakTracker:
    """Per-second totals over a window; the allowed rate is max(initial, 2 x previous peak)."""

    __slots__ = ("_clock", "current", "history", "initial", "multiplier", "second", "window_s")

    def __init__(
        self, initial: float, multiplier: float, window_s: int, clock: Clock = time.time
    ) -> None:
        self._clock = clock
        self.initial = initial
        self.multiplier = multiplier
        self.window_s = window_s
        self.history: deque[tuple[int, float]] = deque()
        self.second = int(clock())
        self.current = 0.0

    def _roll(self, at: float | None) -> None:
        now = int(self._clock() if at is None else at)
        if now > self.second:
            if self.current:
                self.history.append((self.second, self.current))
            self.second, self.current = now, 0.0
            while self.history and self.history[0][0] < now - self.window_s:
                self.history.popleft()

    def allowed(self, at: float | None = None) -> float:
        self._roll(at)
        peak = max((v for _, v in self.history), default=0.0)
        return max(self.initial, self.multiplier * peak)

    def try_take(self, amount: float, at: float | None = None) -> bool:
        limit = self.allowed(at)
        if self.current + amount > limit:
            return False
        self.current += amount
        return True

    def take(self, amount: float, at: float | None = None) -> None:
        self._roll(at)
        self.current += amount
