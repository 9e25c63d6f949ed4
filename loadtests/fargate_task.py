"""What a Fargate task of the load generator runs: `python -m loadtests.fargate_task master|worker`.

master: fetches the deployed names (terraform outputs) the runner left in S3, runs
`python -m loadtests run --target aws` as the Locust master for the remote workers (the same
pacing, audit and gates as any run), shares the run's configuration with the workers through
S3, and writes the run folder back to S3. Its exit code is the run's.
worker: waits for that configuration, then runs a Locust worker against the master's
Cloud Map name. No secret is passed: both use the task role's credentials.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from loadtests.runconfig import CONFIG_ENV

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_KEY = "config.json"
CONFIG_WAIT_S = 600.0
POLL_S = 2.0
MASTER_PORT = 5557


def _s3() -> Any:
    import boto3

    return boto3.client("s3")


def _share_config_when_written(s3: Any, bucket: str, prefix: str, since: float) -> None:
    """The orchestrator writes .redline/loadtests/run-*/config.json: hand it to the workers."""
    work_root = REPO_ROOT / ".redline" / "loadtests"
    while True:
        found = [p for p in work_root.glob("run-*/config.json") if p.stat().st_mtime >= since]
        if found:
            s3.upload_file(str(found[0]), bucket, prefix + CONFIG_KEY)
            return
        time.sleep(0.5)


def task_address() -> str:
    """The task's own address (its ENI in awsvpc mode): the master listens there only, and
    the security group admits the workers only."""
    return socket.gethostbyname(socket.gethostname())


def upload_tree(s3: Any, root: Path, bucket: str, prefix: str) -> int:
    count = 0
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            s3.upload_file(str(path), bucket, prefix + path.relative_to(root).as_posix())
            count += 1
    return count


def master(bucket: str, prefix: str) -> int:
    from loadtests import cli

    s3 = _s3()
    env_name = os.environ["REDLINE_LOADGEN_ENV"]
    workers = os.environ["REDLINE_LOADGEN_WORKERS"]
    run_args = json.loads(os.environ.get("REDLINE_LOADGEN_RUN_ARGS", "[]"))
    outputs = s3.get_object(Bucket=bucket, Key=prefix + "outputs.json")["Body"].read()
    (REPO_ROOT / "terraform" / f"{env_name}.outputs.json").write_bytes(outputs)
    results_dir = Path(tempfile.mkdtemp(prefix="redline-results-"))
    started = time.time()
    threading.Thread(
        target=_share_config_when_written, args=(s3, bucket, prefix, started), daemon=True
    ).start()
    code = cli.main(
        [
            "run",
            *run_args,
            "--target",
            "aws",
            "--env",
            env_name,
            "--workers",
            "0",
            "--remote-workers",
            workers,
            "--master-bind-host",
            task_address(),
            "--results",
            str(results_dir),
        ]
    )
    uploaded = upload_tree(s3, results_dir, bucket, prefix + "results/")
    print(f"==> {uploaded} run-folder file(s) written to s3://{bucket}/{prefix}results/")
    return code


def worker(bucket: str, prefix: str) -> int:
    s3 = _s3()
    config_path = Path(tempfile.mkdtemp(prefix="redline-config-")) / CONFIG_KEY
    deadline = time.monotonic() + CONFIG_WAIT_S
    while time.monotonic() < deadline:
        try:
            s3.download_file(bucket, prefix + CONFIG_KEY, str(config_path))
            break
        except Exception:  # not written yet
            time.sleep(POLL_S)
    else:
        print(f"error: no run configuration at s3://{bucket}/{prefix}{CONFIG_KEY}", file=sys.stderr)
        return 3
    from loadtests.cli import worker_argv

    host = os.environ["REDLINE_LOADGEN_MASTER_HOST"]
    env = {**os.environ, CONFIG_ENV: str(config_path), "PYTHONUNBUFFERED": "1"}
    return subprocess.call(worker_argv(MASTER_PORT, host), env=env, cwd=REPO_ROOT)  # noqa: S603


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if args not in (["master"], ["worker"]):
        print("usage: python -m loadtests.fargate_task master|worker", file=sys.stderr)
        return 2
    bucket = os.environ["REDLINE_LOADGEN_BUCKET"]
    prefix = os.environ["REDLINE_LOADGEN_PREFIX"]
    return master(bucket, prefix) if args == ["master"] else worker(bucket, prefix)


if __name__ == "__main__":
    sys.exit(main())
