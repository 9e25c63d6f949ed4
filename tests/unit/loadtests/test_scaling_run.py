import ast
from pathlib import Path

from loadtests import scaling_run
from loadtests.scenarios import resolve


def _control_constant(name: str) -> float:
    # Read, not imported: loadtests.control imports locust, which monkeypatches the process.
    tree = ast.parse(Path(scaling_run.__file__).with_name("control.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not found in loadtests/control.py")


def test_reshard_plan_starts_after_the_longest_warm_up():
    assert _control_constant("WARMUP_MAX_S") == scaling_run.WARMUP_OFFSET_S


def test_reshard_scenario_doubles_then_halves_within_the_steady_phase():
    scenario = resolve("reshard")
    assert scenario.reshard_plan == ((0.25, 2.0), (0.6, 0.5))
    assert all(0 < fraction < 1 for fraction, _ in scenario.reshard_plan)
    assert resolve("scaling").steps == 6  # half of 3x, then up to 3x in equal steps
    assert scenario.gates.max_lost == 0
