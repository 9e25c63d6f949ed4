from loadtests.gates import RunMeasures, evaluate
from loadtests.scenarios import Gates


def measures(**overrides):
    base = {"p95_ms": 120.0, "p99_ms": 480.0, "error_rate": 0.0, "lost": 0, "achieved_ratio": 1.0}
    return RunMeasures(**{**base, **overrides})


def test_all_gates_pass_with_their_messages():
    results = evaluate(Gates(p95_ms=200, p99_ms=500, error_rate=0.01), measures())
    assert [r.passed for r in results] == [True] * 5
    assert [r.message for r in results] == [
        "latency_p95: 120 ms <= 200 ms",
        "latency_p99: 480 ms <= 500 ms",
        "error_rate: 0.00% <= 1.00%",
        "lost: 0 events <= 0 events",
        "achieved_rate: 100.0% of target >= 95.0%",
    ]


def test_failed_gates_say_which_and_by_how_much():
    results = evaluate(
        Gates(p95_ms=100, p99_ms=400, error_rate=0.01, max_lost=0, min_achieved_ratio=0.95),
        measures(error_rate=0.025, lost=3, achieved_ratio=0.9),
    )
    failed = {r.name: r.message for r in results if not r.passed}
    assert failed == {
        "latency_p95": "latency_p95 failed: 120 ms > limit 100 ms (over by 20 ms)",
        "latency_p99": "latency_p99 failed: 480 ms > limit 400 ms (over by 80 ms)",
        "error_rate": "error_rate failed: 2.50% > limit 1.00% (over by 1.50%)",
        "lost": "lost failed: 3 events > limit 0 events (over by 3 events)",
        "achieved_rate": "achieved_rate failed: 90.0% of target < 95.0% (short by 5.0%)",
    }


def test_gates_that_are_off_or_not_applicable_are_left_out():
    results = evaluate(Gates(p95_ms=None, p99_ms=None), measures(lost=None, achieved_ratio=None))
    assert [r.name for r in results] == ["error_rate"]
