"""Locust entry point: thin users over the paced clients, the shape, and the stat plumbing.

Run by `python -m loadtests run` (never by hand): the run's configuration arrives as a JSON
file named by REDLINE_LOADTEST_CONFIG. Users do not loop on their own: each takes the next
slot of its process's pacer (open model), so the number of users only bounds concurrency.
"""

from __future__ import annotations

import time

import gevent
from locust import LoadTestShape, User, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.runners import MasterRunner, WorkerRunner

from loadtests import timeline as tl
from loadtests import webui
from loadtests.control import DRAIN_IN_FLIGHT_S, Controller, write_timeline
from loadtests.pacing import Slot, poll_interval
from loadtests.process import READ_GET_SHARE, ProcessState, api_auth_headers
from loadtests.runconfig import RUN_BOUND_MARGIN_S, RunConfig
from loadtests.ui_audit import UiAudits

CONFIG = RunConfig.from_env()
WORKERS = max(CONFIG.workers, 1)
STATE: ProcessState | None = None
CONTROLLER: Controller | None = None
UI_AUDITS: UiAudits | None = None  # the web UI audits each start (make loadtest UI=1)
E2E_TIMEOUT_S = 30.0
SEED_EVENTS = 20
PROBE_PUT = "e2e.put"  # the probes' own PutRecords: kept apart from the scenario's records
SEED_PUT = "seed.put"


def state() -> ProcessState:
    assert STATE is not None, "the process state is created in the init event"
    return STATE


@events.init.add_listener
def _on_init(environment, **_kwargs):
    global STATE, CONTROLLER, UI_AUDITS
    runner = environment.runner
    is_worker = isinstance(runner, WorkerRunner)
    is_master = isinstance(runner, MasterRunner)
    if not is_master:
        STATE = ProcessState(CONFIG, environment.events.request.fire, ship=is_worker)
    if is_worker:
        runner.register_message("redline_rates", lambda msg, **_: state().set_rates(msg.data))
    if is_master or not is_worker:
        CONTROLLER = Controller(CONFIG, environment, local_state=STATE)
        if environment.web_ui is not None:  # make loadtest UI=1
            settle_s = DRAIN_IN_FLIGHT_S + CONTROLLER.report_lag
            UI_AUDITS = UiAudits(CONFIG, _flush_acked, settle_s)
            webui.install(environment, CONTROLLER, UI_AUDITS)


def _flush_acked() -> None:
    if STATE is not None:
        STATE.flush_acked()


@events.test_stop.add_listener
def _on_test_stop(environment, **_kwargs):
    if UI_AUDITS is not None and CONTROLLER is not None:
        CONTROLLER.end_early()  # stopped before the plan ended (Stop pressed twice)
        UI_AUDITS.on_plan_end()


@events.report_to_master.add_listener
def _ship(client_id, data, **_kwargs):
    data["redline_timeline"] = state().timeline.drain()
    data["redline_probes_waiting"] = state().probes_waiting()
    data["redline_acked"] = state().drain_acked()


@events.worker_report.add_listener
def _merge(client_id, data, **_kwargs):
    if CONTROLLER is not None:
        CONTROLLER.merge(client_id, data)


@events.quitting.add_listener
def _quitting(environment, **_kwargs):
    if UI_AUDITS is not None:
        UI_AUDITS.close()
    if STATE is not None:
        STATE.close()
    if CONTROLLER is not None:
        CONTROLLER.finish()
        CONTROLLER.close()
        write_timeline(CONFIG, CONTROLLER)
        if CONTROLLER.exit_code is not None:
            environment.process_exit_code = CONTROLLER.exit_code


class KinesisProducerUser(User):
    """PutRecords batches at the scenario's records/s, shared by this process's producers."""

    fixed_count = CONFIG.users.get("KinesisProducerUser", 0) * WORKERS

    @task
    def put_records(self) -> None:
        s = state()
        slot = s.producer_feed.get()
        if slot is not None:
            s.producer.send(slot, s.factory.make(slot.units, time.time()))


class _ApiUser(FastHttpUser):
    abstract = True
    host = CONFIG.endpoints.api_url
    network_timeout = 10.0
    connection_timeout = 5.0

    def get(self, path: str, name: str):
        """GET `path` (reported under `name`, signed when the API wants it); caller judges."""
        headers = api_auth_headers(CONFIG.endpoints, f"{self.host}{path}")
        return self.client.get(path, name=name, catch_response=True, headers=headers)

    def get_event(self, event_id: str, name: str):
        return self.get(f"/events/{event_id}", name)


class ApiReaderUser(_ApiUser):
    """The read API at the scenario's requests/s: get by id of stored events, query by type."""

    fixed_count = CONFIG.users.get("ApiReaderUser", 0) * WORKERS

    def on_start(self) -> None:
        s = state()
        if CONFIG.scenario.mix == "read" and not s.seeded:
            s.seeded = True  # one seeder per process; gevent does not preempt between here
            seed_events(self, s)

    @task
    def read(self) -> None:
        s = state()
        slot = s.reader_feed.get()
        if slot is None:
            return
        if s.known_stored and s.rng.random() < READ_GET_SHARE:
            event_id = s.rng.choice(s.known_stored)
            self._request(slot, tl.API_GET_EVENT, f"/events/{event_id}", "/events/[id]")
        else:
            event_type = s.rng.choice(s.factory.types)
            self._request(
                slot, tl.API_QUERY, f"/events?type={event_type}&limit=50", "/events?type=[type]"
            )

    def _request(self, slot: Slot, request_type: str, path: str, name: str) -> None:
        s = state()
        started = time.time()
        with self.get(path, name) as response:
            ended = time.time()
            latency_ms = (ended - slot.intended_at) * 1000
            response.request_meta["response_time"] = latency_ms  # from the intended start
            status = response.status_code
            counts = {"calls": 1, "offered": 1, "late": int(started - slot.intended_at > 1.0)}
            if status == 200:
                counts["accepted"] = 1
                counts["accepted_bytes"] = len(response.content or b"")
                response.success()
            elif status == 429:
                counts["throttled"] = 1
                response.failure("429 throttled by the API")
            else:
                counts["errors"] = 1
                response.failure(f"HTTP {status}")
            s.timeline.record(request_type, slot.intended_at, latency_ms, **counts)


class EndToEndProbeUser(_ApiUser):
    """Puts one event and polls the API until it is readable: produced -> readable latency."""

    fixed_count = CONFIG.users.get("EndToEndProbeUser", 0) * WORKERS

    @task
    def probe(self) -> None:
        s = state()
        slot = s.probe_feed.get()
        if slot is None:
            return
        records = s.factory.make(1, time.time())
        event_id = records[0][0]
        s.probes_in_flight[event_id] = slot.intended_at
        try:
            outcome = s.producer.send(Slot(time.time(), 1), records, request_type=PROBE_PUT)
            if not outcome.accepted_ids:
                record_probe(s, slot, None, "probe event not acknowledged by Kinesis")
                return
            readable_at = poll_until_readable(self, event_id, slot.intended_at + E2E_TIMEOUT_S)
            if readable_at is None:
                record_probe(s, slot, None, f"not readable within {E2E_TIMEOUT_S:.0f} s")
            else:
                record_probe(s, slot, readable_at, None)
                s.known_stored.append(event_id)
        finally:
            s.probes_in_flight.pop(event_id, None)


def poll_until_readable(user: _ApiUser, event_id: str, deadline: float) -> float | None:
    started = time.time()
    while time.time() < deadline:
        with user.get_event(event_id, "/events/[id] (e2e poll)") as response:
            if response.status_code == 200:
                response.success()
                return time.time()
            response.success()  # 404 until the consumer has stored it: expected while polling
        gevent.sleep(poll_interval(time.time() - started))
    return None


def record_probe(s: ProcessState, slot: Slot, readable_at: float | None, error: str | None) -> None:
    latency_ms = ((readable_at or time.time()) - slot.intended_at) * 1000
    s.timeline.record(
        tl.E2E_PROBE,
        slot.intended_at,
        latency_ms if readable_at else None,
        calls=1,
        offered=1,
        accepted=int(readable_at is not None),
        errors=int(readable_at is None),
    )
    events.request.fire(
        request_type="e2e",
        name="produced->readable",
        response_time=latency_ms,
        response_length=0,
        exception=RuntimeError(error) if error else None,
        context={},
    )


def seed_events(user: _ApiUser, s: ProcessState) -> None:
    """A read-only run needs stored events to read: put a few and wait until readable."""
    records = s.factory.make(SEED_EVENTS, time.time())
    outcome = s.producer.send(Slot(time.time(), len(records)), records, request_type=SEED_PUT)
    deadline = time.time() + E2E_TIMEOUT_S * 2
    for event_id in outcome.accepted_ids:
        if poll_until_readable(user, event_id, deadline) is not None:
            s.known_stored.append(event_id)


class RedlineShape(LoadTestShape):
    """Spawns every user at once; the controller sets the rates and ends the run."""

    use_common_options = True  # --run-time bounds the run whatever the controller does
    ui_start_bound_s = CONFIG.scenario.duration_s + RUN_BOUND_MARGIN_S

    def reset_time(self):
        """Locust calls this at each start of the shape: in the web UI, Start after a stop
        runs the plan again, with its own audit."""
        super().reset_time()
        if UI_AUDITS is not None and CONTROLLER is not None:
            CONTROLLER.new_start()
            UI_AUDITS.begin_start()

    def tick(self):
        if CONTROLLER is None:
            return None
        CONTROLLER.ensure_started()
        total = sum(CONFIG.users.values()) * WORKERS
        if UI_AUDITS is not None:
            if self.get_run_time() > self.ui_start_bound_s:
                CONTROLLER.end_early()  # the web UI's bound (headless: Locust's --run-time)
            if CONTROLLER.done:
                UI_AUDITS.on_plan_end()
                # the UI refreshes its tabs only while a test runs: the users stay, idle at
                # rate 0, until the audit is done, then the test stops
                return (total, total) if UI_AUDITS.auditing() else None
        if CONTROLLER.done:
            return None
        return total, total
