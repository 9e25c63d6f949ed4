"""Target tracking as Application Auto Scaling runs it for DynamoDB, minute by minute."""

import pytest

from pipeline.autoscaling import (
    PolicyState,
    TargetTracking,
    decrease_allowed,
    evaluate,
    replay,
)

POLICY = TargetTracking(target_utilization=70, min_capacity=200, max_capacity=3000)


def test_one_minute_above_target_does_not_scale_two_do():
    state = PolicyState(capacity=200)
    assert evaluate(POLICY, state, 0, 190) is None  # 95 % for one minute
    decision = evaluate(POLICY, state, 1, 190)
    assert decision is not None
    assert decision.direction == "out"
    assert (decision.old, decision.new) == (200, 272)  # ceil(190 / 0.70)
    assert "2 consecutive minutes" in decision.cause


def test_a_dip_below_target_restarts_the_count():
    state = PolicyState(capacity=200)
    assert evaluate(POLICY, state, 0, 190) is None
    assert evaluate(POLICY, state, 1, 100) is None  # 50 %: the streak breaks
    assert evaluate(POLICY, state, 2, 190) is None
    assert evaluate(POLICY, state, 3, 190) is not None


def test_scale_out_stops_at_the_maximum():
    state = PolicyState(capacity=2900)
    evaluate(POLICY, state, 0, 2900)
    assert evaluate(POLICY, state, 1, 2900).new == 3000


def test_scale_in_needs_15_minutes_at_20_percent_below_target():
    state = PolicyState(capacity=1000)
    # 57 % is below 70 % but not 20 % below it (56 %): never scales in
    for minute in range(30):
        assert evaluate(POLICY, state, minute, 570) is None
    state = PolicyState(capacity=1000)
    results = [evaluate(POLICY, state, minute, 300) for minute in range(15)]
    assert results[:14] == [None] * 14
    assert results[14].direction == "in"
    assert results[14].new == 429  # ceil(300 / 0.70)


def test_scale_in_stops_at_the_minimum():
    state = PolicyState(capacity=1000)
    results = [evaluate(POLICY, state, minute, 10) for minute in range(15)]
    assert results[-1].new == 200


def test_four_decreases_a_day_then_one_per_quiet_hour():
    decreases = [10, 20, 30, 40]
    assert decrease_allowed(decreases[:3], 41)
    assert not decrease_allowed(decreases, 41)  # 4 today, the last 1 minute ago
    assert not decrease_allowed(decreases, 99)  # 59 minutes after the last one
    assert decrease_allowed(decreases, 100)  # a whole hour without a decrease
    assert decrease_allowed(decreases, 24 * 60 + 1)  # a new day


def test_at_most_27_decreases_in_a_day():
    decreases: list[int] = []
    for minute in range(24 * 60):
        if decrease_allowed(decreases, minute):
            decreases.append(minute)
    assert len(decreases) == 27


@pytest.mark.parametrize(("target", "low", "high"), [(19, 1, 2), (91, 1, 2), (70, 3, 2)])
def test_policy_refuses_what_aws_refuses(target, low, high):
    with pytest.raises(ValueError, match=r"target_utilization|min_capacity"):
        TargetTracking(target, low, high)


def test_replay_of_a_spike_throttles_until_the_scale_out_applies():
    # GIVEN 200 WCU at 70 % and demand that jumps from 100 to 600 WCU/s at minute 5
    demand = [100.0] * 5 + [600.0] * 20
    result = replay(POLICY, demand, apply_delay_minutes=1, burst_seconds=60)
    # THEN a small burst balance and the 2-minute alarm delay leave throttled minutes; while
    # throttled the alarms see at most the provisioned rate consumed, so each step scales to
    # capacity / 0.7, and once capacity reaches demand / 0.7 nothing more is throttled
    assert result.decisions and result.decisions[0].direction == "out"
    assert result.throttled_minutes > 0
    assert result.throttled[-1] == 0
    assert result.capacity[-1] >= 600 / 0.7
    assert all(c <= POLICY.max_capacity for c in result.capacity)
    assert [d.new for d in result.decisions[:2]] == [286, 409]  # 200 / 0.7, 286 / 0.7


def test_replay_burst_balance_absorbs_a_short_spike():
    demand = [100.0] * 5 + [600.0] * 2 + [100.0] * 5
    assert replay(POLICY, demand, burst_seconds=300).throttled_minutes == 0


def test_replay_with_enough_minimum_capacity_throttles_nothing():
    demand = [100.0] * 5 + [600.0] * 20
    roomy = TargetTracking(70, 900, 3000)
    assert replay(roomy, demand).throttled_minutes == 0
