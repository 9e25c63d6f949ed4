"""Whole capacity searches through the real local stack, as `make loadtest` runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from pipeline.config import load_environment, parse_environment, to_tfvars
from reports import runfolder as rf

REPO_ROOT = Path(__file__).resolve().parents[3]


def environment_file(directory: Path, name: str, **sections: dict[str, Any]) -> Path:
    """The local environment file with some sections' fields changed (validated first)."""
    data = to_tfvars(load_environment("local"))
    for section, fields in sections.items():
        data[section].update(fields)
    parse_environment(data)
    path = directory / f"{name}.tfvars.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def run_capacity(
    tmp_path: Path, env_file: Path, *args: str, timeout_s: float
) -> tuple[str, Path, dict[str, Any]]:
    """`loadtests run --scenario capacity`: (what it printed, the run folder, summary.json)."""
    results = tmp_path / "results"
    command = [sys.executable, "-m", "loadtests", "run", "--scenario", "capacity"]
    completed = subprocess.run(
        [*command, "--env", str(env_file), "--results", str(results), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    output = completed.stdout + completed.stderr
    run_dir = (results / rf.LATEST_LINK).resolve()
    summary_path = run_dir / rf.SUMMARY_JSON
    assert summary_path.exists(), output
    return output, run_dir, json.loads(summary_path.read_text())
