"""make plan / deploy / destroy refuse to touch AWS until everything they need is there."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def _make(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # No credentials anywhere, so a helper that got past its checks could not reach AWS.
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_STATE", "NEW_RELIC_"))
    }
    clean.update(
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        **env,
    )
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=REPO_ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("target", ["plan", "deploy", "outputs"])
def test_the_local_environment_is_refused(target):
    result = _make(target, "ENV=local")
    assert result.returncode != 0
    assert f"error: set ENV to an AWS environment, e.g. make {target} ENV=dev" in result.stderr


def test_an_environment_without_a_backend_file_is_refused():
    result = _make("plan", "ENV=staging")
    assert result.returncode != 0
    assert "terraform/environments/staging.tfvars.json does not exist" in result.stderr


def test_a_missing_state_bucket_is_refused_naming_the_variable():
    result = _make("plan", "ENV=dev")
    assert result.returncode != 0
    assert "error: set TF_STATE_BUCKET to the state bucket made by terraform/bootstrap" in (
        result.stderr
    )


def test_new_relic_without_its_api_key_is_refused():
    # dev turns New Relic on, so the New Relic provider needs a User key.
    result = _make("plan", "ENV=dev", TF_STATE_BUCKET="redline-tfstate-000000000000")
    assert result.returncode != 0
    assert "error: dev has monitoring.new_relic_enabled: export NEW_RELIC_API_KEY" in (
        result.stderr
    )


def test_missing_credentials_are_refused_before_terraform_runs():
    result = _make(
        "plan",
        "ENV=dev",
        TF_STATE_BUCKET="redline-tfstate-000000000000",
        NEW_RELIC_API_KEY="NRAK-placeholder",
    )
    assert result.returncode != 0
    assert "error: no working AWS credentials" in result.stderr
    assert "terraform" not in result.stdout.replace("terraform/", "")


def test_destroy_wants_the_environment_name_typed_again():
    result = _make("destroy", "ENV=dev", TF_STATE_BUCKET="b")
    assert result.returncode != 0
    assert "run make destroy ENV=dev CONFIRM=dev" in result.stderr
