"""The load-generator image: locked dependencies, a non-root user, no secret baked in."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
LOCK = REPO_ROOT / "requirements" / "loadgen.txt"


def _pins() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            assert pinned and re.fullmatch(r"[A-Za-z0-9.+]+", pinned), f"not an exact pin: {line}"
            pins[name] = pinned
    return pins


def test_the_image_installs_exact_pins_without_pulling_anything_else():
    assert "pip install --no-deps -r requirements/loadgen.txt" in DOCKERFILE
    pins = _pins()
    # What the generator runs, at the versions the project's tests run.
    for name in ("locust", "hdrhistogram", "boto3", "pydantic", "jinja2", "matplotlib"):
        assert pins[name] == version(name), name


def test_the_image_runs_as_a_non_root_user_and_starts_the_task_entry_point():
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE, re.M)
    assert users and users[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["python", "-m", "loadtests.fargate_task"]' in DOCKERFILE


def test_no_secret_is_baked_into_the_image():
    for line in DOCKERFILE.splitlines():
        if re.match(r"^(ENV|ARG)\b", line) or line.startswith("    "):
            assert not re.search(r"(SECRET|TOKEN|PASSWORD|ACCESS_KEY|LICENSE)", line, re.I), line
    ignored = (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert "terraform/*.outputs.json" in ignored and ".git" in ignored
