"""A state disk without room for the engines' data stops the stack before anything starts,
with a message naming the free space needed."""

from __future__ import annotations

import shutil

import pytest

from pipeline.local.stack import StackError, read_stack, start_stack


def test_a_full_state_disk_stops_the_stack_before_it_starts(tmp_path, monkeypatch):
    free_mb = shutil.disk_usage(tmp_path).free // (1024 * 1024)
    monkeypatch.setenv("REDLINE_MIN_FREE_MB", str(free_mb + 5_000))

    with pytest.raises(StackError) as raised:
        start_stack(state_dir=tmp_path / "state", aws_port=0, api_port=0, lambda_port=0)

    message = str(raised.value)
    assert f"needs at least {free_mb + 5_000} MB free" in message
    assert "MB more" in message and "REDLINE_MIN_FREE_MB" in message
    assert read_stack(tmp_path / "state") is None  # nothing was started


def test_a_bad_free_space_setting_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("REDLINE_MIN_FREE_MB", "lots")

    with pytest.raises(StackError, match="REDLINE_MIN_FREE_MB must be a whole number of MB"):
        start_stack(state_dir=tmp_path / "state", aws_port=0, api_port=0, lambda_port=0)
