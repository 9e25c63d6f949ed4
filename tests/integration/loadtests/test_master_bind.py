"""A run with several local Locust workers keeps its master on 127.0.0.1: a worker on another
machine cannot connect, so it cannot join the run and inject timeline data or acked ids."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loadtests.cli import master_argv
from pipeline.local.stack import free_port

pytestmark = pytest.mark.integration

LOCUSTFILE = """
from locust import User, constant, task

class Idle(User):
    wait_time = constant(0.5)

    @task
    def idle(self):
        pass
"""


def this_machines_address() -> str | None:
    """The address other machines reach this one at (the default route's interface)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.123", 9))  # no packet is sent for a UDP connect
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def listening_addresses(port: int) -> set[str]:
    """Local addresses in LISTEN state on `port`, IPv4 and IPv6 (/proc/net/tcp, tcp6)."""
    found = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        path = Path("/proc/net") / table
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] != "0A" or int(hex_port, 16) != port:
                continue
            raw = bytes.fromhex(address)  # each 32-bit word in host (little-endian) order
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.add(socket.inet_ntop(family, raw))
    return found


def can_connect(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def test_a_remote_worker_cannot_join_a_local_only_run(tmp_path):
    locustfile = tmp_path / "idle.py"
    locustfile.write_text(LOCUSTFILE)
    port = free_port()
    argv = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless"]
    argv += ["-u", "2", "-r", "2", "-t", "20s", "--loglevel", "WARNING"]
    argv += master_argv(workers=2, remote_workers=0, master_port=port)
    master = subprocess.Popen(argv, cwd=tmp_path, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not listening_addresses(port) and time.monotonic() < deadline:
            assert master.poll() is None, "locust exited early"
            time.sleep(0.2)
        assert listening_addresses(port) == {"127.0.0.1"}
        assert can_connect("127.0.0.1", port)  # its own workers' way in
        remote = this_machines_address()
        assert remote is None or not can_connect(remote, port)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(master.pid, signal.SIGTERM)
        master.wait(timeout=30)


def test_the_master_binds_loopback_in_every_mode():
    for workers, remote in ((1, 0), (3, 0), (4, 2)):
        argv = master_argv(workers, remote, 5600)
        if argv:
            host = argv[argv.index("--master-bind-host") + 1]
            assert host == "127.0.0.1"
    assert master_argv(1, 0, 5600) == []  # one process: no master socket at all
