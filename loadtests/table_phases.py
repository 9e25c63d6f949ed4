"""The controller's table-bound phases: the burst phase and the spend before each probe.

The reasoning is in loadtests.table_knee (pure logic); this drives the rates and reads the
table's throttles from CloudWatch (the local stack: 1-second data; AWS: 1-minute data, so the
burst phase there takes minutes and the time-to-throttle is known to the minute).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loadtests import cloudwatch
from loadtests import table_knee as tk
from pipeline import metrics as m

BURST = "burst"
SPEND = "spend"
EXTRA_BUDGET = 3.0  # spending, catching up and recovering may add this many search budgets
SPEND_DEADLINE_S = 30.0  # a spend that sees no throttle in this long goes on (a quiet table)
TABLE_METRICS = (
    m.by_name("WriteThrottleEvents", "AWS/DynamoDB"),
    m.by_name("ThrottledRequests", "AWS/DynamoDB"),
    m.by_name("ConsumedWriteCapacityUnits", "AWS/DynamoDB"),
    m.by_name("IteratorAge", "AWS/Lambda"),  # the consumer's lag: the burst must not outrun it
)


@dataclass
class TablePhases:
    plan: tk.TablePlan
    read_rows: Callable[[float, float], list[dict[str, Any]]]  # (start, end) -> table rows
    set_phase: Callable[[str, float, float, float], None]
    sleep: Callable[[float], None]  # sleeps, checking the target's health
    probe_rate: float
    period_s: int
    consumer_bound: str | None = None  # set when the burst phase stopped for the consumer's lag

    @classmethod
    def of(cls, controller: Any) -> TablePhases:
        config = controller.config
        plan = tk.TablePlan(**config.table_plan)
        period = 1 if config.cloudwatch_in_loop else 60

        def read_rows(start: float, end: float) -> list[dict[str, Any]]:
            rows = cloudwatch.fetch(config.endpoints, start, end, period, TABLE_METRICS)
            ours = (
                f"TableName={plan.table_name}",
                f"FunctionName={config.endpoints.ingest_function}",
            )
            return [r for r in rows if r["dimensions"] in ours]

        return cls(
            plan,
            read_rows,
            controller.set_phase,
            controller._sleep,
            config.scenario.probe_rate,
            period,
        )

    @property
    def per_probe(self) -> bool:
        """Spend before each probe only where a probe's window can see the table (1-second
        data): 1-minute data cannot judge a few seconds, so on AWS only the burst phase runs."""
        return self.period_s == 1

    @property
    def poll_s(self) -> float:
        return 1.0 if self.period_s == 1 else 20.0

    def _rows(self, start: float) -> list[dict[str, Any]]:
        try:
            return self.read_rows(start, time.time())
        except Exception as exc:  # evidence, not a reason to stop: try again next poll
            print(f"warning: CloudWatch not readable: {exc}", file=sys.stderr, flush=True)
            return []

    def _until_throttled(
        self, start: float, deadline_s: float, max_lag_s: float = float("inf")
    ) -> tuple[int | None, list]:
        """Poll until the table throttles at or after `start`, or the consumer falls more than
        `max_lag_s` behind; (first throttled second or None, rows)."""
        rows: list[dict[str, Any]] = []
        while time.time() < start + deadline_s:
            self.sleep(self.poll_s)
            rows = self._rows(start)
            hits = [t for t in tk.throttle_seconds(rows) if t >= int(start)]
            if hits:
                return hits[0], rows
            if tk.consumer_lag_s(rows) > max_lag_s:
                return None, rows
        return None, rows

    def catch_up_after_burst_s(self, burst: dict[str, Any] | None) -> float:
        return self.plan.catch_up_after_burst_s(burst)

    def burst_phase(self) -> dict[str, Any] | None:
        """Overload the table until it throttles; what was seen (None: it never throttled)."""
        plan = self.plan
        print(
            f"==> burst phase: {plan.burst_rate:.0f} records/s against a table predicted to"
            f" carry {plan.predicted_rate:.0f}/s, until it throttles (its burst credit is spent)",
            flush=True,
        )
        self.set_phase(BURST, plan.burst_rate, 0.0, self.probe_rate)
        started = time.time()
        first, rows = self._until_throttled(started, plan.burst_deadline_s, tk.BURST_MAX_LAG_S)
        self.set_phase("recover", 0.0, 0.0, self.probe_rate)  # stop overloading at once
        if first is None and tk.consumer_lag_s(rows) > tk.BURST_MAX_LAG_S:
            stored = tk.consumed_units(rows, started, time.time()) / max(time.time() - started, 1.0)
            units = plan.provisioned_wcu / plan.predicted_rate
            self.consumer_bound = (
                f"the consumer fell {tk.consumer_lag_s(rows):.0f} s behind the"
                f" {plan.burst_rate:.0f} records/s burst before the table throttled (the table"
                f" took about {stored / units:.0f} records/s of it): the consumer, not the table,"
                " limits this run, so no credit was spent and probes above"
                f" {plan.predicted_rate:.0f} records/s fail on the arithmetic prediction"
            )
            print(f"warning: {self.consumer_bound}", flush=True)
            return None
        if first is None:
            print(
                f"warning: the table did not throttle in {plan.burst_deadline_s:.0f} s of"
                " overload: the search goes on, its knee may ride on burst credit",
                flush=True,
            )
            return None
        # the throttle came in the period starting at `first`: count that period as spent
        throttled_after = max(first + self.period_s / 2 - started, 0.0)
        observation = tk.BurstObservation(
            overload_rate=plan.burst_rate,
            capacity_rate=plan.predicted_rate,
            time_to_throttle_s=throttled_after,
            period_s=self.period_s,
            consumed_wcu=tk.consumed_units(rows, started, first + self.period_s) or None,
            provisioned_wcu=plan.provisioned_wcu,
        )
        print(
            f"==> the table throttled after {throttled_after:.0f} s at"
            f" {plan.burst_rate:.0f} records/s; the consumer catches up before the first probe",
            flush=True,
        )
        return observation.to_dict()

    def judge_throttles(
        self, throttles: dict[str, float], start: float, end: float, rate: float
    ) -> dict[str, float]:
        """The probe's throttles, the table's excused when it took at least the rate."""
        if not any(k.startswith("AWS/DynamoDB") for k in throttles):
            return throttles
        consumed = tk.consumed_units(self._rows(start), start, end)
        units = self.plan.provisioned_wcu / self.plan.predicted_rate
        return tk.excuse_draining(throttles, consumed, end - int(start), rate, units)

    def spend_then_settle(
        self, name: str, rate: float, read_rate: float
    ) -> tuple[float, float, bool]:
        """Empty the bucket, then hold `rate` until the table is quiet; (when the rate began,
        when judging starts, whether the spend saw the table throttle: if not, the bucket may
        still hold credit the probe can ride on)."""
        spend_from = time.time()
        self.set_phase(SPEND, self.plan.spend_rate, 0.0, self.probe_rate)
        first, _ = self._until_throttled(spend_from, SPEND_DEADLINE_S)
        self.set_phase(name, rate, read_rate, self.probe_rate)
        started = time.time()
        while time.time() < started + self.plan.catch_up_s:
            self.sleep(self.poll_s)
            throttled = tk.throttle_seconds(self._rows(started))
            if tk.quiet_since(throttled, time.time(), started, self.period_s):
                break
        return started, time.time(), first is not None
