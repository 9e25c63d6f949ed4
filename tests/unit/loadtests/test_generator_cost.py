"""The generator's Fargate cost: predicted from task sizes and prices, refused over budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loadtests import generator_cost as gc
from pipeline.loadgen_config import LoadgenConfig
from reports.prices import load_prices

PRICES = load_prices()


def test_a_task_is_billed_per_second_with_a_one_minute_minimum():
    size = gc.TaskSize(vcpu=1, memory_gb=2)
    hourly = PRICES.fargate.vcpu_hour_x86_64 + 2 * PRICES.fargate.gb_hour_x86_64
    assert gc.task_cost(size, 3600, PRICES, "X86_64") == pytest.approx(hourly)
    assert gc.task_cost(size, 10, PRICES, "X86_64") == pytest.approx(hourly / 60)


def test_the_prediction_counts_the_master_and_every_worker_with_their_overheads():
    loadgen = LoadgenConfig(cpu_architecture="ARM64")
    prediction = gc.predict(loadgen, workers=20, duration_s=600, prices=PRICES)
    per_task_hour = PRICES.fargate.vcpu_hour_arm64 + 2 * PRICES.fargate.gb_hour_arm64
    worker_s = 600 + gc.STARTUP_OVERHEAD_S
    expected = per_task_hour * (20 * worker_s + worker_s + gc.MASTER_TAIL_S) / 3600
    assert prediction.usd == pytest.approx(expected)
    assert prediction.usd_per_minute == pytest.approx(per_task_hour * 21 / 60)
    assert "1 master + 20 worker task(s)" in prediction.describe()


def test_a_run_over_budget_is_refused_naming_the_setting_unless_allowed():
    prediction = gc.predict(LoadgenConfig(), workers=20, duration_s=600, prices=PRICES)
    with pytest.raises(gc.BudgetError, match=r"over loadgen.budget_usd 0.0100: lower WORKERS"):
        gc.check_budget(prediction, budget_usd=0.01, allow_over=False)
    gc.check_budget(prediction, budget_usd=0.01, allow_over=True)  # told otherwise: runs


def test_the_bill_runs_from_image_pull_to_stop_and_uses_each_tasks_size():
    loadgen = LoadgenConfig(master_cpu=2048, master_memory_mb=4096, cpu_architecture="X86_64")
    start = datetime(2026, 12, 1, tzinfo=UTC)
    tasks = [
        {
            "group": "redline-loadgen-master",
            "pullStartedAt": start,
            "stoppedAt": start + timedelta(hours=1),
        },
        {
            "group": "redline-loadgen-worker",
            "pullStartedAt": start,
            "stoppedAt": start + timedelta(hours=1),
        },
    ]
    f = PRICES.fargate
    expected = (2 * f.vcpu_hour_x86_64 + 4 * f.gb_hour_x86_64) + (
        f.vcpu_hour_x86_64 + 2 * f.gb_hour_x86_64
    )
    assert gc.billed_cost(tasks, loadgen, PRICES, now=start) == pytest.approx(expected)
