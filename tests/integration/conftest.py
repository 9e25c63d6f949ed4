"""Integration tests start real processes (a load test run, its stack, Locust). A test that
fails or times out before it stops them must not leave them loading the machine for the rest
of the suite: whatever a test's body started and left running is stopped after it, the way a
user stops a run (SIGTERM to its process group: the run stops Locust and its stack), then
killed if it does not stop."""

from __future__ import annotations

import contextlib
import os
import signal

import psutil
import pytest

STOP_GRACE_S = 90  # a run's own stop: Locust's grace (at most 60 s), then its stack


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    before = {child.pid for child in psutil.Process().children()}
    try:
        return (yield)
    finally:
        stop_leftovers([c for c in psutil.Process().children() if c.pid not in before])


def stop_leftovers(processes: list[psutil.Process]) -> None:
    tree = {p.pid: p for p in processes}
    for process in processes:
        with contextlib.suppress(psutil.Error):
            tree.update({c.pid: c for c in process.children(recursive=True)})
            if os.getpgid(process.pid) == process.pid:  # started with start_new_session
                os.killpg(process.pid, signal.SIGTERM)
            else:
                process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=STOP_GRACE_S)
    for process in [*alive, *tree.values()]:
        with contextlib.suppress(psutil.Error):
            process.kill()
