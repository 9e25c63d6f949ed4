"""Table-bound capacity searches: spend DynamoDB's burst credit, then judge by what throttled.

Why the search needs this. A provisioned table admits writes from a token bucket that refills
at the provisioned WCU and holds up to 300 s of it (AWS's burst capacity,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/burst-adaptive-capacity.html).
A full bucket lets a rate C x (1 + e) pass for 300 / e seconds without a single throttle, so a
probe of a few seconds above capacity passes on credit and the knee comes out too high. Judging
such a probe by arithmetic (rate x write units per record > provisioned) only repeats the
configuration; the knee must come from what the table did.

The method, for a table whose capacity in records/s (provisioned WCU / write units per record)
is below the stream's, so the table can be the bottleneck:

1. Burst phase. Drive the table well past its capacity (the highest rate the stream carries,
   at most `BURST_MULTIPLE` x the predicted table rate) until the table throttles
   (WriteThrottleEvents / ThrottledRequests > 0). The time that took at that overload is the
   burst figure; stop overloading the moment throttling shows, so the Kinesis backlog is only
   the seconds it took to see it. Then the consumer catches up with no new load: it writes at
   the table's capacity while it has a backlog, so the bucket stays empty. A consumer that
   cannot pass the overload on (starved of CPU) never lets the table throttle and the stream's
   backlog grows instead, so the burst also stops once the consumer is `BURST_MAX_LAG_S` behind
   (IteratorAge), with no burst figure: the consumer, not the table, limits that run, and the
   search goes on without spending (step 2), as a search whose table cannot be overloaded.
   A bucket the stream cannot empty in `MAX_BURST_PHASE_S` (a big table behind a stream that
   can add little over it: 1,500 WCU behind two shards would take 25 minutes) is not tried:
   the plan says why, and the search runs as if there were no plan.
2. Before each probe, spend again. A probe (or a quiet gap) below capacity refills the bucket by
   (capacity - rate) x seconds; the next probe above capacity would spend that before it
   throttled and could pass on credit. So each probe starts with a short overload at
   `SPEND_MULTIPLE` x the predicted rate until the table throttles (the bucket is empty again).
   The backlog that leaves is small (the overload's excess for the seconds it took to see the
   throttle) and the probe then starts at its own rate with no idle gap, so the bucket cannot
   refill: below capacity the consumer drains the backlog at capacity and the table stops
   throttling; above capacity it never does. The judged window starts once the table has been
   quiet for `QUIET_SECONDS` (or at the catch-up deadline), and the probe fails if the table
   throttled in it while taking less than the probe's rate (throttles while the table took at
   least the rate are a backlog draining below capacity, not the probe).
3. The knee is what the pipeline accepted at the highest sustained probe (observed). The
   arithmetic prediction (provisioned WCU / write units per stored record, both observed from
   ConsumedWriteCapacityUnits and the records stored) stands beside it, labelled as one.

From one observation (time-to-throttle t at overload rate R against capacity C, and the write
units the table consumed in it) the credit the table held is consumed - C_wcu x t; at an
overload k x C it lasts credit / ((k - 1) x C_wcu) seconds. That is derived, not observed, and
assumes the bucket was full when the burst phase began (a table written to just before holds
less).

Kinesis-bound searches (an on-demand table, or a provisioned one faster than the stream) never
use any of this. Pure logic here; the controller does the clock and the I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

BURST_MULTIPLE = 3.0  # burst phase: at most this many times the predicted table rate
SPEND_MULTIPLE = 2.0  # before a probe: a mild overload, so the backlog it leaves is small
MIN_OVERLOAD = 1.2  # a table the stream cannot overload by this much is not searched for
STREAM_HEADROOM = 0.9  # the burst phase stays under the stream's limit (a table throttle only)
QUIET_SECONDS = 2  # a probe is judged once the table has not throttled for this long
MAX_CATCH_UP_S = 300.0
BURST_MAX_LAG_S = 20.0  # a consumer this far behind cannot overload the table: stop the burst
MAX_BURST_PHASE_S = 600.0  # a full bucket the overload empties in longer is not spent
DRAIN_TOLERANCE = 0.03  # a draining table takes at least the probe's rate, less this share
MIN_HOLD_S = 10.0  # judged seconds of a table-bound probe (25-item batches make 5 s lumpy)
# seconds of a table-bound probe's rate its latency trend is fitted over, at least: a consumer
# backing off up to 5 s after each throttle makes the latency jump by seconds, and the trend
# of a rate 5% over capacity (50 ms a second) shows only over a few such jumps
MIN_TREND_S = 25.0
AGREEMENT = 0.05  # observed and predicted knees agree within this share
CARRY_OVERLOADS = (1.5, 2.0, 3.0)
TABLE_THROTTLE_METRICS = ("WriteThrottleEvents", "ThrottledRequests")


@dataclass(frozen=True)
class TablePlan:
    """A search where a provisioned table can be the bottleneck (records/s figures)."""

    table_name: str
    provisioned_wcu: float
    predicted_rate: float  # provisioned WCU / configured write units per record: a prediction
    stream_rate: float  # what the stream carries (records/s)
    burst_rate: float  # the burst phase's overload
    spend_rate: float  # the overload that empties the bucket before each probe
    burst_deadline_s: float  # give up the burst phase after this long (a broken table?)
    catch_up_s: float  # the longest a probe waits for the table to go quiet
    full_bucket_s: float = 0.0  # how long the burst rate takes to empty a full bucket
    burst_skipped: str | None = None  # why the credit is not spent (the search runs as usual)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def catch_up_after_burst_s(self, burst: dict[str, Any] | None) -> float:
        """The longest wait for the consumer to drain the burst phase's backlog: everything
        sent in it queued, drained at the table's rate (it usually takes far less)."""
        seconds = burst["time_to_throttle_s"] if burst else self.burst_deadline_s
        return min(seconds * self.burst_rate / self.predicted_rate + 30, MAX_CATCH_UP_S)


def plan_for(
    table_name: str,
    billing_provisioned: bool,
    provisioned_wcu: float,
    units_per_record: float,
    stream_rate: float,
    burst_seconds: float,
    period_s: int = 1,
) -> TablePlan | None:
    """The plan when the table can bind (provisioned, fewer records/s than the stream), else
    None: the search stays as it is. `period_s` is the metrics' resolution (AWS: 60 s)."""
    if not billing_provisioned or provisioned_wcu <= 0 or units_per_record <= 0:
        return None
    predicted = provisioned_wcu / units_per_record
    if predicted >= stream_rate:
        return None
    burst_rate = min(stream_rate * STREAM_HEADROOM, predicted * BURST_MULTIPLE)
    if burst_rate < predicted * MIN_OVERLOAD:
        return None  # the stream throttles before the table can be overloaded: Kinesis binds
    full_bucket_s = burst_seconds * predicted / (burst_rate - predicted)
    skipped = None
    if full_bucket_s > MAX_BURST_PHASE_S:
        skipped = (
            f"spending the table's burst credit ({burst_seconds:g} s of {provisioned_wcu:g} WCU)"
            f" at the {burst_rate:.0f} records/s the stream can add would take"
            f" {full_bucket_s:.0f} s (over {MAX_BURST_PHASE_S:.0f} s): not spent; probes above"
            f" {predicted:.0f} records/s fail on the arithmetic prediction, labelled as one"
        )
    return TablePlan(
        table_name=table_name,
        provisioned_wcu=provisioned_wcu,
        predicted_rate=predicted,
        stream_rate=stream_rate,
        burst_rate=burst_rate,
        spend_rate=min(predicted * SPEND_MULTIPLE, burst_rate),
        burst_deadline_s=2 * full_bucket_s + 5 * period_s + 30,
        catch_up_s=max(30.0, 3 * period_s),
        full_bucket_s=round(full_bucket_s, 1),
        burst_skipped=skipped,
    )


def throttle_seconds(rows: Iterable[dict[str, Any]]) -> list[int]:
    """The seconds (period starts) in which the table throttled, from CloudWatch rows."""
    return sorted(
        {
            int(r["timestamp"])
            for r in rows
            if r["namespace"] == "AWS/DynamoDB"
            and r["metric"] in TABLE_THROTTLE_METRICS
            and r["stat"] == "Sum"
            and r["value"] > 0
        }
    )


def quiet_since(throttled: list[int], now: float, started: float, period_s: int) -> bool:
    """Has the table gone QUIET_SECONDS (at least one whole period) without a throttle?

    Only whole periods that have ended count: the current one may still get throttles."""
    quiet_s = max(QUIET_SECONDS, period_s)
    last_complete = math.floor(now / period_s) * period_s  # the current period starts here
    if last_complete - started < quiet_s:
        return False
    recent = [t for t in throttled if t >= last_complete - quiet_s]
    return not recent


def excuse_draining(
    throttles: dict[str, float], consumed_wcu: float, seconds: float, rate: float, units: float
) -> dict[str, float]:
    """A probe's table throttles, less those of a consumer draining a backlog below capacity.

    After the spend, the consumer writes at the table's capacity until its small backlog is
    gone, and the table throttles while it does. If the table still took at least the probe's
    rate (within DRAIN_TOLERANCE) the throttles were the drain, not the probe: below capacity.
    Above capacity the table takes only its capacity, less than the rate, and they stand."""
    table_rate = consumed_wcu / seconds / units if seconds > 0 and units > 0 else 0.0
    if table_rate < rate * (1 - DRAIN_TOLERANCE):
        return throttles
    return {k: v for k, v in throttles.items() if not k.startswith("AWS/DynamoDB")}


def consumer_lag_s(rows: Iterable[dict[str, Any]]) -> float:
    """The consumer's largest IteratorAge in the rows, in seconds (0 without data)."""
    ages = [r["value"] for r in rows if r["metric"] == "IteratorAge" and r["stat"] == "Maximum"]
    return max(ages, default=0.0) / 1000


def consumed_units(rows: Iterable[dict[str, Any]], start: float, end: float) -> float:
    return sum(
        r["value"]
        for r in rows
        if r["metric"] == "ConsumedWriteCapacityUnits"
        and r["stat"] == "Sum"
        and int(start) <= r["timestamp"] < end
    )


@dataclass(frozen=True)
class BurstObservation:
    """What the burst phase saw: the table throttled `time_to_throttle_s` after the overload
    began (to the metrics' resolution `period_s`)."""

    overload_rate: float  # records/s offered in the burst phase
    capacity_rate: float  # the predicted table rate it was compared with
    time_to_throttle_s: float
    period_s: int
    consumed_wcu: float | None  # write units the table consumed before the throttle
    provisioned_wcu: float

    @property
    def overload_ratio(self) -> float:
        return self.overload_rate / self.capacity_rate

    @property
    def credit_wcu_s(self) -> float:
        """Write units of burst credit spent: consumed beyond what the provisioned rate
        refilled in the same time (observed consumption when the metrics had it)."""
        if self.consumed_wcu:
            spent = self.consumed_wcu - self.provisioned_wcu * self.time_to_throttle_s
        else:
            excess = (self.overload_ratio - 1) * self.provisioned_wcu
            spent = excess * self.time_to_throttle_s
        return max(spent, 0.0)

    def carry_seconds(self, overload: float) -> float | None:
        """How long the table carries `overload` x capacity before it throttles, from a full
        bucket as full as the observed one (derived, not observed)."""
        if overload <= 1:
            return None  # at or under capacity a table never spends credit
        return self.credit_wcu_s / ((overload - 1) * self.provisioned_wcu)

    @property
    def table_wcu_per_s(self) -> float | None:
        """What the table was written at until it throttled (a starved consumer passes on less
        than the stream was offered)."""
        if not self.consumed_wcu or self.time_to_throttle_s <= 0:
            return None
        return self.consumed_wcu / self.time_to_throttle_s

    def to_dict(self) -> dict[str, Any]:
        written = self.table_wcu_per_s
        return {
            "table_wcu_per_s": round(written, 1) if written else None,
            "overload_rps": round(self.overload_rate, 1),
            "overload_ratio": round(self.overload_ratio, 2),
            "time_to_throttle_s": round(self.time_to_throttle_s, 1),
            "resolution_s": self.period_s,
            "credit_wcu_s": round(self.credit_wcu_s, 0),
            "carry_s": {
                f"{k:g}x": round(s, 1)
                for k in CARRY_OVERLOADS
                if (s := self.carry_seconds(k)) is not None
            },
            "basis": "time-to-throttle observed; carry times derived from it (credit spent ="
            " write units consumed - provisioned WCU x time-to-throttle)",
        }


@dataclass(frozen=True)
class Agreement:
    observed: float
    predicted: float
    agree: bool
    distrust: str | None  # "observed" | "prediction" | None
    why: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def agreement(observed: float, predicted: float, burst_spent: bool) -> Agreement:
    """Do the observed knee and the arithmetic prediction agree within AGREEMENT?"""
    error = observed / predicted - 1 if predicted else math.inf
    if abs(error) <= AGREEMENT:
        return Agreement(observed, predicted, True, None, f"within {AGREEMENT:.0%} ({error:+.1%})")
    if error > 0 and not burst_spent:
        why = (
            f"the observed knee is {error:+.1%} above what the provisioned WCU carries and the"
            " table never throttled: burst credit carried the probes; distrust the observed knee"
        )
        return Agreement(observed, predicted, False, "observed", why)
    if error > 0:
        why = (
            f"the observed knee is {error:+.1%} above what the provisioned WCU carries: the"
            " table accepted more than its capacity (credit refilled between probes, or a"
            " capacity change mid-run); distrust the observed knee"
        )
        return Agreement(observed, predicted, False, "observed", why)
    why = (
        f"the observed knee is {error:+.1%} below what the provisioned WCU carries: something"
        " before the table limited first (the consumer's throughput, a hot partition, retries"
        " backing off) or the search's time ran out before it closed in (see the first failed"
        " probe); the prediction assumes every provisioned unit is used, distrust it"
    )
    return Agreement(observed, predicted, False, "prediction", why)


def units_per_record(rows: Iterable[dict[str, Any]], stored_metric: str) -> float | None:
    """Write units per stored record over the rows (observed: consumed / stored)."""
    consumed = stored = 0.0
    for r in rows:
        if r["stat"] != "Sum":
            continue
        if r["metric"] == "ConsumedWriteCapacityUnits":
            consumed += r["value"]
        elif r["metric"] == stored_metric:
            stored += r["value"]
    return consumed / stored if consumed and stored else None


def summary(
    plan: dict[str, Any],
    knee: float | None,
    burst: dict[str, Any] | None,
    rows: list[dict[str, Any]],
    stored_metric: str,
    burst_note: str | None = None,
    prediction_bound: bool = False,
) -> dict[str, Any]:
    """The table section of summary.json: observed knee, prediction, agreement, burst
    (`burst_note`: why the burst phase spent no credit, when it did not; `prediction_bound`:
    a probe failed on the arithmetic prediction, its spend having left credit)."""
    units = units_per_record(rows, stored_metric)
    predicted = plan["provisioned_wcu"] / units if units else None
    result: dict[str, Any] = {
        "table": plan["table_name"],
        "provisioned_wcu": plan["provisioned_wcu"],
        "observed_knee_rps": knee,
        "predicted_knee_rps": round(predicted, 1) if predicted else None,
        "units_per_record": round(units, 3) if units else None,
        "prediction_basis": "prediction: provisioned WCU / write units per stored record"
        " (ConsumedWriteCapacityUnits / records stored, observed in the run)",
        "burst": burst,
        "burst_note": None if burst else burst_note,
    }
    bounded = result["burst_note"] or prediction_bound
    if knee and predicted and bounded and knee >= predicted * (1 - AGREEMENT):
        result["not_compared"] = (
            "the knee is the prediction's bound: the table's credit was not spent"
            + (" before every probe" if burst else "")
            + ", so its own limit was not observed"
        )
    elif knee and predicted:
        result["agreement"] = agreement(knee, predicted, burst is not None).to_dict()
    return result


def summary_lines(section: dict[str, Any]) -> list[str]:
    """Plain lines for the run summary and report.md."""
    lines = []
    knee, predicted = section.get("observed_knee_rps"), section.get("predicted_knee_rps")
    lines.append(
        f"table {section['table']} ({section['provisioned_wcu']:g} WCU): sustained knee "
        + (f"{knee:.0f} records/s (observed)" if knee else "not found")
        + (
            f"; prediction {predicted:.0f} records/s (provisioned WCU /"
            f" {section['units_per_record']:g} write units per record)"
            if predicted
            else "; no prediction (no write units or records stored in the metrics)"
        )
    )
    verdict = section.get("agreement")
    if section.get("not_compared"):
        lines.append(f"  not compared: {section['not_compared']}")
    if verdict:
        agree = verdict["agree"]
        lines.append(f"  {'agree' if agree else 'DISAGREE'}: {verdict['why']}")
    burst = section.get("burst")
    if burst:
        carry = ", ".join(f"{k} for {v:.0f} s" for k, v in burst["carry_s"].items())
        lines.append(
            f"  burst: throttled after {burst['time_to_throttle_s']:.0f} s (+-"
            f"{burst['resolution_s']} s) at {burst['overload_rps']:.0f} records/s"
            f" ({burst['overload_ratio']:.1f}x the predicted rate"
            + (
                f"; the table took {written:.0f} WCU/s, {written / section['provisioned_wcu']:.1f}x"
                if (written := burst.get("table_wcu_per_s"))
                else ""
            )
            + f"; observed); derived from it, the table carries {carry} before it throttles"
        )
    elif section.get("burst_note"):
        lines.append(f"  burst: not observed: {section['burst_note']}")
    else:
        lines.append("  burst: not observed (the burst phase saw no throttle)")
    return lines
