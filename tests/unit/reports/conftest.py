"""Run folders built once per session (copied per test when a test writes into them)."""

import shutil
from pathlib import Path

import pytest

from tests.unit.reports import runs


@pytest.fixture(scope="session")
def _pristine(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("runs")
    return {
        "capacity": runs.capacity_run(base / "20260921-125320-capacity"),
        "table": runs.table_bound_run(base / "20260921-130000-step"),
    }


@pytest.fixture
def capacity_run(_pristine, tmp_path) -> Path:
    return Path(shutil.copytree(_pristine["capacity"], tmp_path / _pristine["capacity"].name))


@pytest.fixture
def table_run(_pristine, tmp_path) -> Path:
    return Path(shutil.copytree(_pristine["table"], tmp_path / _pristine["table"].name))
