"""Knee detection from the rates a run held."""

import numpy as np

from reports import knee as knees


def _level(rate, sustained):
    return knees.Level(rate, rate, rate, 0.0, 5, 10, 20, 30, sustained)


def test_the_knee_is_the_highest_rate_sustained_below_the_first_failure():
    levels = [_level(r, s) for r, s in ((600, True), (1200, False), (900, True), (1000, False))]
    knee = knees.find_knee(levels, "search")
    assert (knee.rate, knee.reached, knee.first_failed.target_rate) == (900, True, 1000)


def test_a_run_that_never_failed_has_not_reached_its_knee():
    knee = knees.find_knee([_level(100, True), _level(200, True)], "timeline")
    assert (knee.rate, knee.reached, knee.first_failed) == (200, False, None)


def test_a_run_that_never_kept_up_has_no_knee():
    knee = knees.find_knee([_level(100, False)], "timeline")
    assert knee.rate is None and knee.reached


def test_levels_group_seconds_by_target_and_judge_throttles_and_downstream():
    target = np.array([100.0] * 5 + [200.0] * 5 + [300.0] * 2)  # 300 held 2 s: a transition
    offered = target.copy()
    accepted = np.minimum(offered, 250.0)
    throttled = offered - accepted
    latency = np.full(12, 10.0)
    downstream = np.array([0.0] * 5 + [0, 0, 4, 4, 4] + [0, 0])
    levels = knees.levels_from_timeline(
        target, offered, accepted, throttled, latency, latency, latency, downstream
    )
    assert [lv.target_rate for lv in levels] == [100.0, 200.0]
    assert levels[0].sustained
    assert not levels[1].sustained
    assert levels[1].reasons == "throttled past the stream: 2.4 events/s"


def test_judge_names_each_reason():
    ok, reasons = knees.judge(1000, 900, 100)
    assert not ok
    assert reasons == "throttled 100/s (10.0% of offered); accepted 900/s < offered 1000/s"
    assert knees.judge(1000, 1000, 4) == (True, "")
