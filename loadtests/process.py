"""The state one Locust process shares between its users: pacers, clients, timeline, ids."""

from __future__ import annotations

import os
import random
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, TextIO

import boto3
import gevent
import gevent.queue
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from loadtests import keys
from loadtests.clients import KinesisProducer, kinesis_client
from loadtests.pacing import Pacer, Slot
from loadtests.records import RecordSource
from loadtests.runconfig import ACKED_PREFIX, Endpoints, RunConfig
from loadtests.target import API_TOKEN_ENV  # JWT APIs: the bearer token (never logged)
from loadtests.timeline import Timeline

READ_GET_SHARE = 0.8  # of reader requests: get by id; the rest query by type
KNOWN_STORED_MAX = 5000
MAX_PROBES_SHIPPED = 500  # waiting probes a worker reports (at most 30 s x the probe rate)


DISPATCH_POLL_S = 0.05
_SESSION = boto3.Session()


def api_auth_headers(endpoints: Endpoints, url: str) -> dict[str, str]:
    """What the API's auth_type needs: nothing, a SigV4 signature (AWS_IAM) or a bearer token."""
    if endpoints.api_auth == "AWS_IAM" and endpoints.aws_endpoint_url:
        from pipeline.local.api_auth import sigv4_headers

        return sigv4_headers("GET", url, endpoints.region)  # the local stack's credentials
    if endpoints.api_auth == "AWS_IAM":
        credentials = _SESSION.get_credentials()
        if credentials is None:
            raise RuntimeError("the API wants AWS_IAM auth but no AWS credentials were found")
        request = AWSRequest(method="GET", url=url)
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", endpoints.region).add_auth(
            request
        )
        return dict(request.headers)
    if endpoints.api_auth == "JWT":
        token = os.environ.get(API_TOKEN_ENV, "")
        return {"Authorization": f"Bearer {token}"} if token else {}
    return {}


class SlotFeed:
    """Hands a process's users each slot when it falls due: one wake-up per slot.

    Slots due while every user is busy wait in the queue, so their latency (from the intended
    start) includes the wait. A rate change drops the slots of the old rate not yet taken.
    """

    def __init__(self, pacer: Pacer):
        self.pacer = pacer
        self.queue: gevent.queue.Queue = gevent.queue.Queue()
        self.generation = 0
        self.dropped_units = 0
        self._dispatcher: gevent.Greenlet | None = None

    def set_rate(self, rate: float, at: float) -> None:
        """The new rate from `at` on (a worker gets the message a little ahead of time)."""
        delay = at - time.time()
        if delay > 0:
            gevent.spawn_later(delay, self._apply, rate, at)
        else:
            self._apply(rate, at)

    def _apply(self, rate: float, at: float) -> None:
        self.generation += 1
        while not self.queue.empty():
            self.dropped_units += self.queue.get_nowait().units
        self.pacer.set_rate(rate, at)
        if self._dispatcher is None:
            self._dispatcher = gevent.spawn(self._dispatch)

    def _dispatch(self) -> None:
        while True:
            generation = self.generation
            slot = self.pacer.take()
            if slot is None:
                gevent.sleep(DISPATCH_POLL_S)
                continue
            while generation == self.generation and slot.intended_at > time.time():
                gevent.sleep(min(slot.intended_at - time.time(), DISPATCH_POLL_S))
            if generation == self.generation:
                self.queue.put(slot)

    def get(self, timeout: float = 0.5) -> Slot | None:
        try:
            return self.queue.get(timeout=timeout)
        except gevent.queue.Empty:
            return None

    def stop(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.kill(block=False)


def open_acked_file(work_dir: str, name: str) -> TextIO:
    """work_dir/acked-<name>.txt: an acknowledged event id a line (the audit reads them all)."""
    return (Path(work_dir) / f"{ACKED_PREFIX}{name}.txt").open("a", encoding="utf-8")


class ProcessState:
    def __init__(self, config: RunConfig, fire: Any, ship: bool):
        self.config = config
        scenario = config.scenario
        self.timeline = Timeline(ship=ship)
        self.producer_feed = SlotFeed(Pacer(max_units_per_call=scenario.batch_size))
        self.reader_feed = SlotFeed(Pacer(max_units_per_call=1))
        self.probe_feed = SlotFeed(Pacer(max_units_per_call=1))
        self.phase = "starting"
        tag = f"p{os.getpid()}"
        self.factory = RecordSource(  # the --records hook; Redline's events by default
            config.records,
            id_prefix=f"{config.run_id}.{tag}",
            record_bytes=scenario.record_bytes,
            event_types=scenario.event_types,
            key_chooser=keys.chooser(
                scenario.key_strategy,
                hot_key_share=scenario.hot_key_share,
                zipf_s=scenario.zipf_s,
                key_count=scenario.key_count,
                seed=os.getpid(),
            ),
        )
        pool = sum(config.users.values()) + 5
        self.kinesis = kinesis_client(
            config.endpoints.region, config.endpoints.aws_endpoint_url, pool=pool
        )
        self.producer = KinesisProducer(
            self.kinesis, config.endpoints.stream_name, fire, self.timeline, self.on_acked
        )
        self.known_stored: deque[str] = deque(maxlen=KNOWN_STORED_MAX)
        self.probes_in_flight: dict[str, float] = {}
        self.rng = random.Random(os.getpid())  # noqa: S311 - load shape
        self._lock = threading.Lock()
        Path(config.work_dir).mkdir(parents=True, exist_ok=True)
        self.ship = ship
        self.unshipped_acked: list[str] = []  # a worker ships its ids to the master
        self._acked_file = None if ship else open_acked_file(config.work_dir, str(os.getpid()))
        self.acked_count = 0
        self.seeded = False

    def on_acked(self, event_ids: list[str], _at: float) -> None:
        with self._lock:
            self.acked_count += len(event_ids)
            if self._acked_file is None:
                self.unshipped_acked.extend(event_ids)
            else:
                self._acked_file.write("\n".join(event_ids) + "\n")

    def flush_acked(self) -> None:
        """Write out the ids acknowledged so far (the web UI audits while the process runs)."""
        with self._lock:
            if self._acked_file is not None:
                self._acked_file.flush()

    def drain_acked(self) -> list[str]:
        with self._lock:
            ids, self.unshipped_acked = self.unshipped_acked, []
            return ids

    def set_rates(self, data: dict[str, Any]) -> None:
        at = float(data.get("at") or time.time())
        self.phase = data.get("phase", self.phase)
        self.producer_feed.set_rate(float(data.get("records", 0)), at)
        self.reader_feed.set_rate(float(data.get("reads", 0)), at)
        self.probe_feed.set_rate(float(data.get("probes", 0)), at)

    def probes_waiting(self) -> list[float]:
        """When each probe still waiting to be readable was meant to be sent (oldest first)."""
        return sorted(self.probes_in_flight.values())[:MAX_PROBES_SHIPPED]

    def close(self) -> None:
        for feed in (self.producer_feed, self.reader_feed, self.probe_feed):
            feed.stop()
        with self._lock:
            if self._acked_file is not None:
                self._acked_file.close()
