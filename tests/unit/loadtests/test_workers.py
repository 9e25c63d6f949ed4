"""Who started a distributed run, who was lost, and what a bad ON_WORKER_LOSS says."""

from __future__ import annotations

import pytest

from loadtests.workers import WorkerWatch, check_on_worker_loss


def test_a_loss_is_reported_once_with_the_workers_left():
    watch = WorkerWatch(policy="continue")
    watch.begin(["w1", "w2", "w3"])
    assert watch.check(["w1", "w2", "w3"], now=1.0) is None
    loss = watch.check(["w1", "w3"], now=2.0)
    assert loss is not None and loss.lost == ["w2"] and loss.remaining == 2
    assert watch.check(["w1", "w3"], now=3.0) is None  # the same loss is not reported again
    assert watch.message(loss) == "1 Locust worker(s) lost mid-run (w2); 2 of 3 left"
    assert watch.to_dict() == {
        "on_worker_loss": "continue",
        "workers_at_start": 3,
        "losses": [{"at": 2.0, "lost": ["w2"], "remaining": 2}],
    }


def test_a_worker_that_joins_late_is_not_a_loss_and_not_counted_as_left():
    watch = WorkerWatch()
    watch.begin(["w1", "w2"])
    loss = watch.check(["w1", "late"], now=5.0)
    assert loss is not None and loss.lost == ["w2"] and loss.remaining == 1


def test_on_worker_loss_names_its_allowed_values():
    assert check_on_worker_loss("continue") == "continue"
    with pytest.raises(
        ValueError, match=r"ON_WORKER_LOSS must be one of fail, continue, got 'retry'"
    ):
        check_on_worker_loss("retry")
