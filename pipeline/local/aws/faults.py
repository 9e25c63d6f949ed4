"""Faults the gateway injects on request, so that loss paths can be run through the real stack.

REDLINE_FAULT_THROTTLE_WRITES_S=<seconds>: every DynamoDB write (PutItem, UpdateItem,
DeleteItem, BatchWriteItem) is answered with ProvisionedThroughputExceededException for that
many seconds from the first write the gateway sees, as a table whose capacity is gone would
answer (counted from the first write, not from the start, so a slow start cannot eat it).
Tests make it short; a fault run of AWS's kind uses 60.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping

THROTTLE_WRITES_VARIABLE = "REDLINE_FAULT_THROTTLE_WRITES_S"
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"})


class WriteThrottleFault:
    def __init__(
        self,
        env: Mapping[str, str] = os.environ,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        raw = env.get(THROTTLE_WRITES_VARIABLE, "").strip()
        try:
            seconds = float(raw) if raw else 0.0
        except ValueError:
            raise ValueError(
                f"{THROTTLE_WRITES_VARIABLE} must be a number of seconds, got {raw!r}"
            ) from None
        if seconds < 0:
            raise ValueError(f"{THROTTLE_WRITES_VARIABLE} must be 0 or more, got {raw!r}")
        self._clock = clock
        self._seconds = seconds
        self._until: float | None = None
        self._lock = threading.Lock()

    def throttles(self, operation: str) -> bool:
        if not self._seconds or operation not in WRITE_OPERATIONS:
            return False
        with self._lock:
            if self._until is None:
                self._until = self._clock() + self._seconds
            return self._clock() < self._until
