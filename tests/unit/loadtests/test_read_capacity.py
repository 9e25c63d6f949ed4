"""The read API's capacity search (SCENARIO=capacity MIX=read): what a user can ask for, how a
probe is judged from what the readers got back, and the bottleneck it names."""

from __future__ import annotations

from types import SimpleNamespace

from loadtests import read_capacity as rc
from loadtests.scenarios import Search, resolve
from loadtests.search import ProbeResult

CRITERIA = Search()


def probe(target: float, offered: float, accepted: float, throttled: float = 0.0, **kw):
    return ProbeResult(target, offered, accepted, throttled, kw.get("errors", 0.0), 40.0)


def test_capacity_with_mix_read_is_a_search_over_requests_per_second():
    scenario = resolve("capacity", {"mix": "read"})
    assert rc.is_read_search(scenario)
    assert rc.ceiling(scenario) == scenario.rate  # no READ_RATE: the search's RATE bound
    assert rc.ceiling(resolve("capacity", {"mix": "read", "read_rate": 300.0})) == 300.0
    assert not rc.is_read_search(resolve("capacity"))
    assert not rc.is_read_search(resolve("smoke", {"mix": "read"}))


def test_the_first_probe_is_60_percent_of_the_api_throttle_or_start_rate():
    environment = SimpleNamespace(api=SimpleNamespace(throttling_rate_limit=100))
    assert rc.start_rate(environment, resolve("capacity", {"mix": "read"})) == 60.0
    chosen = resolve("capacity", {"mix": "read", "start_rate": 20.0})
    assert rc.start_rate(environment, chosen) == 20.0


def test_a_probe_within_the_throttle_is_sustained():
    verdict = rc.judge_reads(probe(100, 100, 100, 0.5), CRITERIA)
    assert verdict.sustained and verdict.reasons == ()


def test_429s_fail_a_probe_and_name_the_api_route_throttle():
    verdict = rc.judge_reads(probe(120, 120, 104, 16), CRITERIA)
    assert not verdict.sustained
    assert verdict.reasons == ("API answered 429 to 16.0 requests/s",)
    steps = [
        {"sustained": True, "target_rate": 96.0, "started_at": 10.0, "reasons": ""},
        {
            "sustained": False,
            "target_rate": 120.0,
            "started_at": 20.0,
            "throttled_rate": 16.0,
            "reasons": "; ".join(verdict.reasons),
        },
    ]
    named = rc.bottleneck(steps)
    assert named["resource"] == "API rate limit"
    assert named["value"] == 16.0
    assert named["evidence"] == (
        "at 120 requests/s the readers got 429s: API answered 429 to 16.0 requests/s"
    )


def test_server_errors_are_not_called_throttling():
    verdict = rc.judge_reads(probe(100, 100, 90, 0, errors=0.1), CRITERIA)
    assert verdict.reasons == ("HTTP 5xx or no answer on 10.0% of requests",)
    steps = [
        {
            "sustained": False,
            "target_rate": 100.0,
            "started_at": 1.0,
            "error_rate": 0.1,
            "reasons": verdict.reasons[0],
        }
    ]
    assert rc.bottleneck(steps)["resource"] == "api errors"


def test_a_starved_generator_is_named_as_such():
    verdict = rc.judge_reads(probe(200, 150, 150), CRITERIA)
    assert verdict.generator_limited
    assert verdict.reasons == ("generator sent 150/s of 200/s target",)
    assert rc.bottleneck([{"sustained": True}]) is None
