from loadtests import control, scaling_run
from loadtests.scenarios import resolve


def test_reshard_plan_starts_after_the_longest_warm_up():
    assert scaling_run.WARMUP_OFFSET_S == control.WARMUP_MAX_S


def test_reshard_scenario_doubles_then_halves_within_the_steady_phase():
    scenario = resolve("reshard")
    assert scenario.reshard_plan == ((0.25, 2.0), (0.6, 0.5))
    assert all(0 < fraction < 1 for fraction, _ in scenario.reshard_plan)
    assert resolve("scaling").steps == 6  # half of 3x, then up to 3x in equal steps
    assert scenario.gates.max_lost == 0
