"""The environment file's loadgen section: Fargate sizes and what `enabled` needs, by name."""

from __future__ import annotations

import json

import pytest

from pipeline.config import ENVIRONMENTS_DIR, EnvironmentConfigError, parse_environment


def _dev_with_loadgen(**changes) -> dict:
    data = json.loads((ENVIRONMENTS_DIR / "dev.tfvars.json").read_text(encoding="utf-8"))
    data["loadgen"].update(changes)
    return data


def test_a_memory_fargate_does_not_pair_with_the_cpu_is_refused_naming_both():
    with pytest.raises(EnvironmentConfigError) as excinfo:
        parse_environment(_dev_with_loadgen(worker_cpu=256, worker_memory_mb=4096), "dev")
    assert (
        "loadgen.worker_memory_mb must be 512..2048 in steps of 512 with worker_cpu 256,"
        " got 4096" in str(excinfo.value)
    )


def test_a_cpu_fargate_does_not_offer_is_refused_with_the_allowed_values():
    with pytest.raises(EnvironmentConfigError) as excinfo:
        parse_environment(_dev_with_loadgen(master_cpu=3000), "dev")
    assert "loadgen.master_cpu must be one of 256, 512, 1024, 2048, 4096" in str(excinfo.value)


def test_enabled_without_where_to_run_names_each_missing_field():
    with pytest.raises(EnvironmentConfigError) as excinfo:
        parse_environment(_dev_with_loadgen(enabled=True), "dev")
    assert (
        "loadgen.enabled needs loadgen.image, loadgen.vpc_id, loadgen.subnet_ids,"
        " loadgen.results_bucket" in str(excinfo.value)
    )


def test_an_enabled_complete_section_is_accepted():
    config = parse_environment(
        _dev_with_loadgen(
            enabled=True,
            image="123456789012.dkr.ecr.us-east-1.amazonaws.com/redline-loadgen:1",
            vpc_id="vpc-0abc",
            subnet_ids=["subnet-0abc"],
            results_bucket="redline-results-dev",
        ),
        "dev",
    )
    assert config.loadgen.enabled and config.loadgen.workers == 2
