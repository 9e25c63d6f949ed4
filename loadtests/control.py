"""The run's controller, in the Locust master (or the only process): rates, probes, progress.

It sets the target rates of each phase on every process (a message to each worker with its
share), judges capacity probes from the merged timeline (and, on the local stack, the
per-second CloudWatch throttle metrics of the window), prints progress, and writes
timeline.csv, steps.csv and its result for the orchestrator.
"""

from __future__ import annotations

import csv
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

import gevent
from locust.runners import MasterRunner

from loadtests import cloudwatch_arrival, health, read_capacity, table_phases
from loadtests import timeline as tl
from loadtests.cloudwatch import downstream_throttles
from loadtests.process import open_acked_file
from loadtests.runconfig import CONTROLLER_RESULT, RunConfig
from loadtests.scenarios import Phase, plan
from loadtests.search import Growth, KneeSearch, ProbeResult, Verdict, judge, latency_growth
from loadtests.workers import WorkerLoss, WorkerLost, WorkerWatch, alive_worker_ids, watch
from reports import runfolder as rf

PROGRESS_EVERY_S = 5.0
HEALTH_EVERY_S = 2.0
HEALTH_WINDOW_S = 4.0  # the recent seconds whose failed calls each health check judges
LOCAL_REPORT_LAG_S = 1.5  # in-flight calls finishing after the window
WORKER_REPORT_LAG_S = 4.0  # workers report every 3 s
DRAIN_IN_FLIGHT_S = 5.0  # after the last phase: let retries and probes finish
WARMUP_MAX_S = 30.0
WARM_E2E_MS = 3000
E2E_LOOKBACK_S = 30.0  # a probe readable in a probe's window may have been sent this long before
SHARE_OF_READS = {tl.API_GET_EVENT: 0.8, tl.API_QUERY: 0.2}


@dataclass
class PhaseSpan:
    name: str
    start: float
    end: float
    rate: float
    read_rate: float
    probe_rate: float


@dataclass
class StepRow:
    step: int
    phase: str
    started_at: float
    duration_s: float
    target_rate: float
    offered_rate: float
    accepted_rate: float
    throttled_rate: float
    error_rate: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    iterator_age_max_ms: float | None
    sustained: bool
    reasons: str = ""
    e2e_p95_ms: float | None = None
    generator_limited: bool = False
    e2e_growth_ms_per_s: float | None = None


class Controller:
    def __init__(self, config: RunConfig, environment: Any, local_state: Any = None):
        self.config = config
        self.environment = environment
        self.local_state = local_state
        self.distributed = isinstance(environment.runner, MasterRunner)
        self.timeline = tl.Timeline() if self.distributed else local_state.timeline
        self.report_lag = WORKER_REPORT_LAG_S if self.distributed else LOCAL_REPORT_LAG_S
        self.phases: list[PhaseSpan] = []
        self.steps: list[StepRow] = []
        self.knee: float | None = None  # records/s accepted at the highest sustained probe
        self.knee_target: float | None = None  # the rate that probe asked for
        self.table_burst: dict[str, Any] | None = None  # table-bound: what the burst phase saw
        self.table_burst_note: str | None = None  # table-bound: why no credit was spent
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.done = False
        self.exit_code: int | None = None
        self.error: str | None = None
        self._greenlet: gevent.Greenlet | None = None
        self._probes_waiting: dict[str, list[float]] = {}
        self._table: table_phases.TablePhases | None = None  # table-bound search only
        self._acked_file: TextIO | None = None
        self._finished = False
        self.completed = False
        self.worker_watch = WorkerWatch(policy=config.on_worker_loss)
        self.health = health.HealthMonitor(
            [health.HealthCheck(**c) for c in config.health_checks],
            config.stack_logs,
            str(Path(config.run_dir) / rf.LOGS_DIR),
        )
        self.arrival = cloudwatch_arrival.for_target(config.target, config.endpoints)

    # -- plumbing -----------------------------------------------------------------------
    def merge(self, client_id: str, data: dict) -> None:
        self.timeline.merge(data.get("redline_timeline") or [])
        acked = data.get("redline_acked")
        if acked:
            if self._acked_file is None:
                self._acked_file = open_acked_file(self.config.work_dir, "master")
            self._acked_file.write("\n".join(acked) + "\n")
            self._acked_file.flush()
        self._probes_waiting[client_id] = data.get("redline_probes_waiting") or []

    def probes_waiting(self) -> list[float]:
        """When each probe not yet readable was meant to be sent, across the workers."""
        if self.distributed:
            return sorted(t for waiting in self._probes_waiting.values() for t in waiting)
        return self.local_state.probes_waiting()

    def oldest_probe(self) -> float | None:
        return min(self.probes_waiting(), default=None)

    def close(self) -> None:
        if self._acked_file is not None:
            self._acked_file.close()
            self._acked_file = None  # a late worker report reopens it

    def ensure_started(self) -> None:
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._run)

    def end_early(self) -> None:
        """The test stopped before the plan ended (Stop in the web UI): end the plan, keeping
        what it measured, and stop handing out slots while the UI waits for the next start."""
        if self._greenlet is not None and not self.done:
            self._greenlet.kill(block=True)  # its `finally` writes the result
            self.set_phase("stopped", 0, 0, 0)

    def new_start(self) -> None:
        """Start in the same web UI session again: a fresh plan, search and result (the
        timeline keeps every second)."""
        if self._greenlet is None:
            return
        self.end_early()
        self.phases, self.steps = [], []
        self.knee = self.knee_target = self.started_at = self.ended_at = None
        self.table_burst = self.table_burst_note = self._table = None
        self.done = self._finished = self.completed = False
        self.exit_code = self.error = None
        self._greenlet = None

    def set_phase(self, name: str, rate: float, read_rate: float, probe_rate: float) -> None:
        now = time.time()
        if self.phases:
            self.phases[-1].end = now + (0.3 if self.distributed else 0.0)
        at = now + (0.3 if self.distributed else 0.0)  # workers get the message first
        self.phases.append(PhaseSpan(name, at, math.inf, rate, read_rate, probe_rate))
        if self.distributed:
            self._send_shares(name, at, rate, read_rate, probe_rate)
        else:
            self.local_state.set_rates(
                {
                    "phase": name,
                    "at": at,
                    "records": rate,
                    "reads": read_rate,
                    "probes": probe_rate,
                }
            )

    def _send_shares(
        self, name: str, at: float, rate: float, read_rate: float, probe_rate: float
    ) -> None:
        """Each worker's share of the rates: the total holds whatever the number of workers."""
        workers = max(self.environment.runner.worker_count, 1)
        share = {
            "phase": name,
            "at": at,
            "records": rate / workers,
            "reads": read_rate / workers,
            "probes": probe_rate / workers,
        }
        self.environment.runner.send_message("redline_rates", share)

    # -- the run ------------------------------------------------------------------------
    def _run(self) -> None:
        scenario = self.config.scenario
        self.started_at = time.time()
        progress = gevent.spawn(self._progress_loop)
        watcher = self._watch_workers()
        try:
            if scenario.shape == "capacity":
                self._capacity()
            else:
                phases = plan(scenario)
                self._warmup(min(phases[0].rate / 10, 50.0), min(phases[0].read_rate / 10, 2.0))
                self._fixed(phases)
            self.set_phase("drain", 0, 0, 0)
            gevent.sleep(DRAIN_IN_FLIGHT_S + self.report_lag)
            self.completed = True
        except WorkerLost as exc:
            self.error = str(exc)
            print(f"error: {self.error}", file=sys.stderr, flush=True)
        except health.TargetUnhealthy as exc:
            self.error = f"the target is unhealthy: {exc}"
            print(f"error: {self.error}; stopping the run", file=sys.stderr, flush=True)
            self.exit_code = 3
        except Exception as exc:  # report it in the run folder, stop the run cleanly
            self.error = f"{type(exc).__name__}: {exc}"
            print(f"error: the load controller failed: {self.error}", file=sys.stderr, flush=True)
            self.exit_code = 3
        finally:
            progress.kill()
            if watcher is not None:
                watcher.kill()
            self.finish()
            self.done = True

    def _watch_workers(self) -> gevent.Greenlet | None:
        if not self.distributed:
            return None
        self.worker_watch.begin(alive_worker_ids(self.environment.runner))
        return gevent.spawn(
            watch, self.environment.runner, self.worker_watch, self._on_worker_loss, gevent.sleep
        )

    def _on_worker_loss(self, loss: WorkerLoss) -> None:
        message = self.worker_watch.message(loss)
        if self.worker_watch.policy == "fail" or loss.remaining == 0:
            why = "ON_WORKER_LOSS=fail" if loss.remaining else "no worker is left"
            if self._greenlet is not None:
                self._greenlet.kill(WorkerLost(f"{message}: the run stops ({why})"), block=False)
            return
        print(f"warning: {message}: their share of the rate moves to the rest", flush=True)
        if self.phases:
            now, phase = time.time(), self.phases[-1]
            self._send_shares(phase.name, now, phase.rate, phase.read_rate, phase.probe_rate)

    def _fixed(self, phases: list[Phase]) -> None:
        for index, phase in enumerate(phases, start=1):
            self.set_phase(phase.name, phase.rate, phase.read_rate, phase.probe_rate)
            started = time.time()
            self._sleep(phase.duration_s)
            # every phase gets its row: level percentiles come from merged histograms only
            self._record_step(index, phase.name, started, started + phase.duration_s, 0.0)

    def _capacity(self) -> None:
        s = self.config.scenario
        if read_capacity.is_read_search(s):
            read_capacity.search(self)  # requests/s through the read API
            return
        criteria = s.search
        mix_reads = s.read_rate if s.mix == "mixed" else 0.0
        search = KneeSearch(self.config.start_rate, s.rate, criteria)
        self._warmup(min(50.0, self.config.start_rate / 10), min(mix_reads, 2.0))
        table = table_phases.TablePhases.of(self) if self.config.table_plan else None
        if table is not None and table.plan.burst_skipped:
            self.table_burst_note = table.plan.burst_skipped
            print(f"warning: {table.plan.burst_skipped}", flush=True)
            table = None
        if table is not None:
            self.table_burst = table.burst_phase()
            wait = table.catch_up_after_burst_s(self.table_burst)
            self._recover(time.time() + wait, wait)
            if table.consumer_bound:  # spending before each probe would only grow the backlog
                self.table_burst_note, table = table.consumer_bound, None
        self._table = table
        budget_end = time.time() + s.duration_s
        extra_budget = s.duration_s * table_phases.EXTRA_BUDGET if table else 0.0
        probe_s = criteria.settle_s + criteria.hold_s + self.report_lag
        step = 0
        while not search.done and time.time() + probe_s <= budget_end:
            rate = search.next_rate()
            assert rate is not None
            step += 1
            name = f"probe-{rate:.0f}"
            if table is not None and table.per_probe:
                # spending the credit and catching up are not probing: they extend the budget
                begun = time.time()
                # the trend counts from the rate's start: a backlog the consumer cannot drain
                # grows from there, one it can shrinks; 10 s of backing off would hide either
                growth_from, judged_from, spent = table.spend_then_settle(name, rate, mix_reads)
                on_credit = not spent
                if not spent:
                    print(
                        f"  the spend saw no throttle in {table_phases.SPEND_DEADLINE_S:.0f} s"
                        f" at {table.plan.spend_rate:.0f} records/s: the table may still hold"
                        f" credit, so {name} is also judged against the prediction (labelled)",
                        flush=True,
                    )
                added = min(time.time() - begun, extra_budget)
                budget_end, extra_budget = budget_end + added, extra_budget - added
                judged_to = max(
                    judged_from + max(criteria.hold_s, table_phases.tk.MIN_HOLD_S),
                    growth_from + table_phases.tk.MIN_TREND_S,
                )
            else:
                self.set_phase(name, rate, mix_reads, s.probe_rate)
                on_credit = False
                growth_from = time.time()
                judged_from = growth_from + criteria.settle_s
                judged_to = judged_from + criteria.hold_s
            self._sleep(judged_to - time.time() + self.report_lag)
            verdict = self._record_step(
                step, name, judged_from, judged_to, rate, growth_from, on_credit
            )
            search.record(rate, verdict, self.steps[-1].accepted_rate)
            if not verdict.sustained and not search.done:
                begun = time.time()
                self._recover(budget_end)
                if table is not None:  # a table-bound search's budget is its probes' time
                    added = min(time.time() - begun, extra_budget)
                    budget_end, extra_budget = budget_end + added, extra_budget - added
        self.knee_target = search.knee or None
        self.knee = search.knee_accepted

    def _check_health(self) -> None:
        self.health.check()
        # Failed calls (5xx, no answer) stop the run within seconds, not at the step's end.
        now = time.time()
        recent = self.timeline.window(
            [tl.PUT_RECORDS], now - self.report_lag - HEALTH_WINDOW_S, now - self.report_lag
        )
        health.check_errors(
            recent.counts["offered"],
            recent.counts.get("failures", 0),
            "PutRecords",
            self.health.data_plane(),
        )
        if self.arrival is not None:
            flowing = self.timeline.window([tl.PUT_RECORDS], now - 60, now).counts["accepted"]
            self.arrival.load_flowing(flowing > 0)
            self.arrival.check()

    def _sleep(self, seconds: float) -> None:
        """Sleep through a phase, checking the target's health every few seconds."""
        end = time.time() + seconds
        while (left := end - time.time()) > 0:
            gevent.sleep(min(left, HEALTH_EVERY_S))
            self._check_health()

    def _warmup(self, rate: float, read_rate: float) -> None:
        """A low rate until requests go through in normal time (cold starts, first polls)."""
        s = self.config.scenario
        probes = max(s.probe_rate, 1.0) if s.mix != "read" else 0.0
        self.set_phase("warmup", rate, read_rate, probes)
        started = time.time()
        deadline = started + WARMUP_MAX_S
        while time.time() < deadline:
            self._sleep(1.0)  # a part that dies during warm-up stops the run too
            now = time.time()
            if probes:
                recent = self.timeline.window([tl.E2E_PROBE], started, now)
                warm = recent.samples >= 2 and recent.histogram.get_min_value() < WARM_E2E_MS
            else:
                recent = self.timeline.window([tl.API_GET_EVENT, tl.API_QUERY], now - 3, now)
                warm = recent.counts["accepted"] >= 3 and recent.percentile(50) < WARM_E2E_MS
            if warm:
                return

    def _recover(self, budget_end: float, max_s: float = 30.0) -> None:
        """After a failed probe: no load until the consumer's backlog is gone (bounded)."""
        s = self.config.scenario
        self.set_phase("recover", 0, 0, s.probe_rate)
        deadline = min(time.time() + max_s, budget_end)
        gevent.sleep(2.0)
        while time.time() < deadline:
            oldest = self.oldest_probe()
            recent = self.timeline.window([tl.E2E_PROBE], time.time() - 6, time.time() - 2)
            backlog_gone = (oldest is None or time.time() - oldest < WARM_E2E_MS / 1000) and (
                recent.samples == 0 or recent.percentile(95) < WARM_E2E_MS
            )
            if backlog_gone:
                return
            gevent.sleep(1.0)

    # -- measuring ----------------------------------------------------------------------
    def _growth(self, start: float) -> Growth | None:
        """produced->readable's trend over the probes that became readable since `start` (by
        the time each became readable: every one of them is complete), and the oldest probe
        still waiting, at the time it has waited so far (a lower bound)."""
        now = time.time()
        points = [
            (readable, mean_ms / 1000, count)
            for second, mean_ms, count in self.timeline.second_means(
                tl.E2E_PROBE, start - E2E_LOOKBACK_S, now
            )
            if start <= (readable := second + 0.5 + mean_ms / 1000) <= now
        ]
        oldest = self.oldest_probe()
        if oldest is not None and oldest >= start - E2E_LOOKBACK_S:
            points.append((now, now - oldest, 1))
        return latency_growth(points)

    def _record_step(
        self,
        index: int,
        name: str,
        start: float,
        end: float,
        target: float,
        growth_from: float | None = None,
        on_credit: bool = False,
    ) -> Verdict:
        """Judge [start, end); `growth_from`: where produced->readable's trend starts;
        `on_credit`: the spend before a table-bound probe saw no throttle."""
        s = self.config.scenario
        self._check_health()  # a dead part is a broken run, never a failed step
        put = self.timeline.window([tl.PUT_RECORDS], start, end)
        health.check_errors(
            put.counts["offered"],
            put.counts.get("failures", 0),
            "PutRecords",
            self.health.data_plane(),
        )
        target = target or self._phase_rate(name)
        e2e = self.timeline.window([tl.E2E_PROBE], start, end)
        e2e_p95 = e2e.percentile(95) if e2e.samples else None
        oldest = self.oldest_probe()
        if oldest is not None and oldest < end:
            waited_ms = (time.time() - oldest) * 1000
            e2e_p95 = max(e2e_p95 or 0.0, waited_ms)
        downstream: dict[str, float] = {}
        iterator_age = None
        if self.config.cloudwatch_in_loop:
            try:
                downstream, iterator_age = downstream_throttles(
                    self.config.endpoints,
                    start,
                    end,
                    target or self._phase_rate(name),
                    # a table whose credit was spent is judged by its throttles alone
                    predict=self._table is None or on_credit,
                )
            except Exception as exc:  # metrics are evidence, not a reason to stop the search
                print(f"warning: CloudWatch not readable: {exc}", file=sys.stderr, flush=True)
            if self._table is not None and self._table.per_probe:
                downstream = self._table.judge_throttles(downstream, int(start), end, target)
        calls = max(put.counts["calls"], 1)
        result = ProbeResult(
            target_rate=target,
            offered_rate=put.rate("offered"),
            accepted_rate=put.rate("accepted"),
            throttled_rate=put.rate("throttled"),
            error_rate=put.counts["errors"] / calls,
            latency_p99_ms=put.percentile(99),
            e2e_p95_ms=e2e_p95,
            downstream_throttles=downstream,
            e2e_growth=self._growth(growth_from) if growth_from is not None else None,
        )
        verdict = judge(result, s.search) if s.shape == "capacity" else self._fixed_verdict(result)
        self.steps.append(
            StepRow(
                step=index,
                phase=name,
                started_at=start,
                duration_s=end - start,
                target_rate=target,
                offered_rate=result.offered_rate,
                accepted_rate=result.accepted_rate,
                throttled_rate=result.throttled_rate,
                error_rate=result.error_rate,
                latency_p50_ms=put.percentile(50),
                latency_p95_ms=put.percentile(95),
                latency_p99_ms=put.percentile(99),
                iterator_age_max_ms=iterator_age,
                sustained=verdict.sustained,
                reasons="; ".join(verdict.reasons),
                e2e_p95_ms=e2e_p95,
                generator_limited=verdict.generator_limited,
                e2e_growth_ms_per_s=round(result.e2e_growth.per_s * 1000, 1)
                if result.e2e_growth
                else None,
            )
        )
        mark = "sustained" if verdict.sustained else "NOT sustained: " + "; ".join(verdict.reasons)
        print(f"  step {index} {name}: {mark}", flush=True)
        self.write_steps()
        return verdict

    def _fixed_verdict(self, result: ProbeResult) -> Verdict:
        return judge(result, self.config.scenario.search)

    def _phase_rate(self, name: str) -> float:
        return next((p.rate for p in reversed(self.phases) if p.name == name), 0.0)

    def _progress_loop(self) -> None:
        while True:
            gevent.sleep(PROGRESS_EVERY_S)
            self.print_progress()

    def print_progress(self) -> None:
        now = time.time()
        start, end = now - self.report_lag - PROGRESS_EVERY_S, now - self.report_lag
        put = self.timeline.window([tl.PUT_RECORDS], start, end)
        reads = self.timeline.window([tl.API_GET_EVENT, tl.API_QUERY], start, end)
        e2e = self.timeline.window([tl.E2E_PROBE], start, end)
        phase = self.phases[-1] if self.phases else None
        elapsed = now - (self.started_at or now)
        parts = [f"[{elapsed:5.0f}s] {phase.name if phase else '-':<14}"]
        if phase and (phase.rate or put.counts["offered"]):
            parts.append(
                f"records/s target {phase.rate:.0f} offered {put.rate('offered'):.0f}"
                f" accepted {put.rate('accepted'):.0f} throttled {put.rate('throttled'):.0f}"
                f" p99 {put.percentile(99):.0f} ms"
            )
        if reads.counts["offered"]:
            parts.append(
                f"reads/s {reads.rate('offered'):.0f} (429 {reads.rate('throttled'):.0f})"
                f" p99 {reads.percentile(99):.0f} ms"
            )
        if e2e.samples:
            parts.append(f"e2e p95 {e2e.percentile(95):.0f} ms")
        print(" | ".join(parts), flush=True)

    # -- output -------------------------------------------------------------------------
    def target_at(self, second: int, request_type: str) -> tuple[str, float]:
        for span in reversed(self.phases):
            if span.start <= second + 0.5:
                if request_type == tl.PUT_RECORDS:
                    return span.name, span.rate
                if request_type.startswith("e2e"):
                    return span.name, span.probe_rate
                return span.name, span.read_rate * SHARE_OF_READS.get(request_type, 1.0)
        return "starting", 0.0

    def measures(self) -> dict[str, Any]:
        """What the gates judge: the load phases (capacity: the knee's probe)."""
        s = self.config.scenario
        latency_types = [tl.PUT_RECORDS] if s.mix != "read" else []
        if s.mix != "ingest":
            latency_types += [tl.API_GET_EVENT, tl.API_QUERY]
        all_types = [tl.PUT_RECORDS, tl.API_GET_EVENT, tl.API_QUERY, tl.E2E_PROBE]
        loads = _load_phases(self.phases)
        if s.shape == "capacity":
            knee_steps = [
                r for r in self.steps if r.sustained and r.target_rate == self.knee_target
            ]
            if not knee_steps:
                return {"p95_ms": 0.0, "p99_ms": 0.0, "error_rate": 0.0, "achieved_ratio": 0.0}
            row = knee_steps[-1]
            return {
                "p95_ms": row.latency_p95_ms,
                "p99_ms": row.latency_p99_ms,
                "error_rate": row.error_rate,
                "achieved_ratio": row.accepted_rate / row.target_rate if row.target_rate else 0,
            }
        if not loads:
            return {"p95_ms": 0.0, "p99_ms": 0.0, "error_rate": 0.0, "achieved_ratio": 0.0}
        start, end = loads[0].start, loads[-1].end + 1  # the last partial second too
        latency = [self.timeline.window([t], start, end) for t in latency_types]
        everything = self.timeline.window(all_types, start, end)
        if s.mix == "read":
            achieved_type, target = [tl.API_GET_EVENT, tl.API_QUERY], "read_rate"
        else:
            achieved_type, target = [tl.PUT_RECORDS], "rate"
        wanted = sum(getattr(p, target) * (p.end - p.start) for p in loads)
        achieved = self.timeline.window(achieved_type, start, end).counts
        return {
            "offered_ratio": achieved["offered"] / wanted if wanted else 0.0,
            "p95_ms": max((w.percentile(95) for w in latency if w.samples), default=0.0),
            "p99_ms": max((w.percentile(99) for w in latency if w.samples), default=0.0),
            "error_rate": everything.counts["errors"] / max(everything.counts["calls"], 1),
            "achieved_ratio": achieved["accepted"] / wanted if wanted else 0.0,
        }

    def write_steps(self) -> None:
        path = Path(self.config.run_dir) / rf.STEPS_CSV
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(rf.STEPS_COLUMNS)
            for row in self.steps:
                values = asdict(row)
                writer.writerow([_cell(values[c]) for c in rf.STEPS_COLUMNS])

    def finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        self.ended_at = time.time()
        if self.phases:
            self.phases[-1].end = self.ended_at
        self.write_steps()
        result = {
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "knee_rps": self.knee,
            "knee_target_rps": self.knee_target,
            "table_burst": self.table_burst,
            "table_burst_note": self.table_burst_note,
            "knee_offered_rps": next(
                (
                    r.offered_rate
                    for r in reversed(self.steps)
                    if r.sustained and r.target_rate == self.knee_target
                ),
                None,
            ),
            "phases": [asdict(p) for p in self.phases],
            "steps": [asdict(s) for s in self.steps],
            "measures": self.measures(),
            "error": self.error,
            "interrupted": not self.completed,
            "workers": self.worker_watch.to_dict() if self.distributed else None,
        }
        path = Path(self.config.work_dir) / CONTROLLER_RESULT
        path.write_text(json.dumps(result, indent=2, default=_json_default), encoding="utf-8")


def _load_phases(phases: list[PhaseSpan]) -> list[PhaseSpan]:
    skipped = ("warmup", "drain", "recover", table_phases.BURST, table_phases.SPEND)
    return [p for p in phases if p.name not in skipped and p.end > p.start]


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and math.isinf(value):
        return None
    raise TypeError(type(value).__name__)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return round(value, 3)
    return value


def write_timeline(config: RunConfig, controller: Controller) -> None:
    """timeline.csv: a row per second and request type, from the merged histograms."""
    timeline = controller.timeline
    started = controller.started_at or 0.0
    path = Path(config.run_dir) / rf.TIMELINE_CSV
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(rf.TIMELINE_COLUMNS)
        for second in timeline.seconds():
            for request_type in timeline.types():
                bucket = timeline.buckets.get((second, request_type))
                if bucket is None:
                    continue
                phase, target = controller.target_at(second, request_type)
                h = bucket.histogram
                has = h.get_total_count() > 0
                c = bucket.counts
                row = {
                    "timestamp": second,
                    "elapsed_s": max(second - int(started), 0),
                    "phase": phase,
                    "request_type": request_type,
                    "target_rate": round(target, 3),
                    **{k: c[k] for k in ("offered", "accepted", "throttled", "errors", "retries")},
                    "offered_bytes": c["offered_bytes"],
                    "accepted_bytes": c["accepted_bytes"],
                    "latency_p50_ms": h.get_value_at_percentile(50) if has else "",
                    "latency_p95_ms": h.get_value_at_percentile(95) if has else "",
                    "latency_p99_ms": h.get_value_at_percentile(99) if has else "",
                    "latency_max_ms": h.get_max_value() if has else "",
                }
                writer.writerow([row[c] for c in rf.TIMELINE_COLUMNS])
