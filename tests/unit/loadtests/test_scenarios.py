import itertools

import pytest

from loadtests.scenarios import DEFAULT_SCENARIO, SCENARIOS, ScenarioError, plan, resolve


def test_every_named_scenario_is_valid_and_capacity_is_the_default():
    assert DEFAULT_SCENARIO == "capacity"
    assert set(SCENARIOS) == {"smoke", "capacity", "step", "spike", "soak", "scaling", "reshard"}
    for name in SCENARIOS:
        assert resolve(name).name == name


def test_overrides_reach_the_scenario_its_gates_and_its_search():
    scenario = resolve("spike", {"rate": 300, "duration_s": 30, "p99_ms": 800, "hold_s": 3})
    assert (scenario.rate, scenario.duration_s) == (300, 30)
    assert scenario.gates.p99_ms == 800
    assert scenario.search.hold_s == 3
    assert resolve("spike").rate == 200  # defaults untouched


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        (
            "warp",
            {},
            "unknown scenario 'warp'; choose one of: smoke, capacity, step, spike, soak, scaling, reshard",
        ),
        ("smoke", {"rate": -5}, "RATE must be a number > 0, got -5"),
        ("smoke", {"duration_s": 0}, "DURATION must be a number > 0, got 0"),
        ("smoke", {"batch_size": 501}, "BATCH_SIZE must be 1..500, got 501"),
        (
            "smoke",
            {"key_strategy": "round"},
            "key_strategy must be one of uniform, hot, zipf, got 'round'",
        ),
        ("smoke", {"hot_key_share": 1.5}, "HOT_KEY_SHARE must be between 0 and 1, got 1.5"),
        ("capacity", {"mix": "read", "read_rate": -5.0}, "READ_RATE must be a number >= 0, got -5"),
        ("smoke", {"max_lost": -1}, "GATE_MAX_LOST must be >= 0, got -1"),
    ],
)
def test_bad_options_name_the_option_and_what_is_allowed(name, overrides, message):
    with pytest.raises(ScenarioError) as caught:
        resolve(name, overrides)
    assert str(caught.value) == message


def test_fixed_plans_cover_the_duration_back_to_back():
    for name in ("smoke", "step", "spike", "soak"):
        scenario = resolve(name, {"duration_s": 50})
        phases = plan(scenario)
        assert phases[0].start_s == 0
        for before, after in itertools.pairwise(phases):
            assert after.start_s == pytest.approx(before.start_s + before.duration_s)
        assert sum(p.duration_s for p in phases) == pytest.approx(50)


def test_step_rates_climb_to_the_rate_and_spike_multiplies_the_base():
    steps = plan(resolve("step", {"rate": 1000, "steps": 4}))
    assert [p.rate for p in steps] == [250, 500, 750, 1000]
    spike = plan(resolve("spike", {"rate": 100, "spike_multiplier": 5}))
    assert [p.rate for p in spike] == [100, 500, 100]
