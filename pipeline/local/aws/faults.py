"""Faults the gateway injects on request, so that loss paths can be run through the real stack.

REDLINE_FAULT_THROTTLE_WRITES_S=<seconds>: every DynamoDB write (PutItem, UpdateItem,
DeleteItem, BatchWriteItem) is answered with ProvisionedThroughputExceededException for that
many seconds from the first write the gateway sees, as a table whose capacity is gone would
answer (counted from the first write, not from the start, so a slow start cannot eat it).
Tests make it short; a fault run of AWS's kind uses 60.

REDLINE_FAULT_UNAVAILABLE_S=<seconds> (with REDLINE_FAULT_UNAVAILABLE_AFTER_S=<seconds>, 0 by
default): every Kinesis and DynamoDB call is answered HTTP 503 ServiceUnavailable for that many
seconds, starting that long after the first PutRecords the gateway sees (so provisioning and a
run's warm-up go through first), as a gateway whose engines stopped answering would. The
gateway's own health route keeps answering: the load test must see the outage in what its
calls got back, and never count a 503 as a throttle.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping

THROTTLE_WRITES_VARIABLE = "REDLINE_FAULT_THROTTLE_WRITES_S"
UNAVAILABLE_VARIABLE = "REDLINE_FAULT_UNAVAILABLE_S"
UNAVAILABLE_AFTER_VARIABLE = "REDLINE_FAULT_UNAVAILABLE_AFTER_S"
UNAVAILABLE_SERVICES = ("Kinesis_20131202.", "DynamoDB_20120810.")
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"})


def seconds_from(env: Mapping[str, str], variable: str) -> float:
    raw = env.get(variable, "").strip()
    try:
        seconds = float(raw) if raw else 0.0
    except ValueError:
        raise ValueError(f"{variable} must be a number of seconds, got {raw!r}") from None
    if not seconds >= 0 or seconds == float("inf"):
        raise ValueError(f"{variable} must be a number of seconds, 0 or more, got {raw!r}")
    return seconds


class WriteThrottleFault:
    def __init__(
        self,
        env: Mapping[str, str] = os.environ,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._seconds = seconds_from(env, THROTTLE_WRITES_VARIABLE)
        self._until: float | None = None
        self._lock = threading.Lock()

    def throttles(self, operation: str) -> bool:
        if not self._seconds or operation not in WRITE_OPERATIONS:
            return False
        with self._lock:
            if self._until is None:
                self._until = self._clock() + self._seconds
            return self._clock() < self._until


class UnavailableFault:
    """The gateway answers 503 to data-plane calls for a while (REDLINE_FAULT_UNAVAILABLE_S)."""

    def __init__(
        self,
        env: Mapping[str, str] = os.environ,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._seconds = seconds_from(env, UNAVAILABLE_VARIABLE)
        self._after = seconds_from(env, UNAVAILABLE_AFTER_VARIABLE)
        self._starts: float | None = None
        self._lock = threading.Lock()

    def unavailable(self, target: str) -> bool:
        """True when the call named by its X-Amz-Target must be answered 503 now."""
        if not self._seconds or not target.startswith(UNAVAILABLE_SERVICES):
            return False
        with self._lock:
            if self._starts is None:
                if not target.endswith(".PutRecords"):
                    return False
                self._starts = self._clock() + self._after
            return self._starts <= self._clock() < self._starts + self._seconds
