"""The forwarder against a real HTTP receiver: the Metric API's shape and the fault list."""

import gzip
import json
from collections import Counter

import pytest

from monitors.forwarder.newrelic import LicenseKeyError
from pipeline import metrics as m

from .conftest import LICENSE_KEY, START

pytestmark = pytest.mark.integration
HEARTBEAT = m.FORWARDER_POINTS.newrelic_name


def _assert_each_minute_once(receiver, first_minute, last_minute):
    points = [p for r in receiver.accepted() for p in r.points()]
    duplicates = [p for p, n in Counter(points).items() if n > 1]
    assert duplicates == [], f"points sent twice: {duplicates[:3]}"
    heartbeats = sorted(ts for ts, name, _ in points if name == HEARTBEAT)
    assert heartbeats == list(range(first_minute * 1000, (last_minute + 60) * 1000, 60_000))


def test_happy_path_gzip_json_in_the_metric_apis_shape_with_the_api_key(receiver, make_forwarder):
    forwarder = make_forwarder()
    result = forwarder.run(now=START + 10 * 60 + 1)
    assert result.minutes_delivered == 5
    (request,) = receiver.requests
    assert request.status == 202
    assert request.headers["Api-Key"] == LICENSE_KEY
    assert request.headers["Content-Encoding"] == "gzip"
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(gzip.decompress(request.raw))
    assert isinstance(body, list) and len(body) == 5
    for element in body:
        assert set(element) == {"common", "metrics"}
        assert element["common"]["interval.ms"] == 60_000
        assert element["common"]["timestamp"] % 60_000 == 0
        assert (
            element["common"]["attributes"]["environment"]
            == forwarder.settings.resources.environment
        )
        for point in element["metrics"]:
            assert set(point) == {"name", "type", "value", "attributes"}
            assert point["type"] in ("gauge", "count", "summary")
    latest = body[-1]["metrics"]
    p95 = next(p for p in latest if p["name"] == "pipeline.e2e.latency.p95")
    assert p95 == {
        "name": "pipeline.e2e.latency.p95",
        "type": "gauge",
        "value": 900.0,
        "attributes": {"component": "end_to_end"},
    }
    rate = next(p for p in latest if p["name"] == "pipeline.ingest.success_rate")
    assert rate["value"] == 100.0
    assert json.loads(forwarder.checkpoint())["next_minute"] == START + 10 * 60


def test_503_for_ten_scheduled_invocations_then_202_delivers_every_minute_once(
    receiver, make_forwarder
):
    forwarder = make_forwarder()
    receiver.policy = lambda request: (503, {}, b"Service Unavailable")
    first_now = START + 10 * 60 + 1
    for invocation in range(10):
        result = forwarder.run(now=first_now + 60 * invocation)
        assert result.minutes_delivered == 0
    outage_posts = len(receiver.requests)
    assert outage_posts >= 10 * 3, "each invocation retries within its time"
    # backoff doubles within an invocation and every wait fits the invocation's 50 s
    assert forwarder.clock.sleeps[:4] == [1.0, 2.0, 4.0, 8.0]
    assert all(stats.waited_s <= 50 for stats in forwarder.stats)

    receiver.policy = lambda request: (202, {}, b"{}")
    for invocation in range(10, 13):
        forwarder.run(now=first_now + 60 * invocation)
    # the first run planned the 5 minutes before it; each later invocation added one minute
    first_minute = START + 5 * 60
    last_minute = START + 21 * 60  # the last invocation runs at START + 22 min + 1 s
    _assert_each_minute_once(receiver, first_minute, last_minute)
    assert json.loads(forwarder.checkpoint())["next_minute"] == last_minute + 60


def test_429_waits_as_told_and_resumes(receiver, make_forwarder):
    forwarder = make_forwarder()
    answers = iter([(429, {"Retry-After": "7"}, b"slow down")])
    receiver.policy = lambda request: next(answers, (202, {}, b"{}"))
    result = forwarder.run(now=START + 10 * 60 + 1)
    assert forwarder.clock.sleeps == [7.0]
    assert [r.status for r in receiver.requests] == [429, 202]
    assert receiver.requests[0].raw == receiver.requests[1].raw
    assert result.minutes_delivered == 5


def test_429_longer_than_the_time_left_is_not_waited_and_the_next_run_sends(
    receiver, make_forwarder, caplog
):
    forwarder = make_forwarder()
    answers = iter([(429, {"Retry-After": "120"}, b"slow down")])
    receiver.policy = lambda request: next(answers, (202, {}, b"{}"))
    first = forwarder.run(now=START + 10 * 60 + 1)
    assert first.minutes_delivered == 0 and forwarder.clock.sleeps == []
    assert "waiting 120.0 s would pass this run's time" in caplog.text
    forwarder.run(now=START + 11 * 60 + 1)
    _assert_each_minute_once(receiver, START + 5 * 60, START + 10 * 60)


def test_413_splits_until_accepted_and_a_single_oversized_point_is_dropped(
    receiver, make_forwarder, caplog
):
    forwarder = make_forwarder()

    def policy(request):
        # bodies over 1,500 bytes are too large, and so is any body holding the API's
        # attempts point (a single point too large for New Relic)
        too_big = len(request.raw) > 1500
        refused = any(name == "pipeline.api.attempts" for _, name, _ in request.points())
        return (413, {}, b"Payload Too Large") if too_big or refused else (202, {}, b"{}")

    receiver.policy = policy
    result = forwarder.run(now=START + 8 * 60 + 1, budget_s=600)
    assert result.minutes_delivered == 5
    statuses = Counter(r.status for r in receiver.requests)
    assert statuses[413] > 1 and statuses[202] > 1
    accepted = [p for r in receiver.accepted() for p in r.points()]
    assert len(accepted) == len(set(accepted))
    assert not [p for p in accepted if p[1] == "pipeline.api.attempts"]
    assert len([p for p in accepted if p[1] == HEARTBEAT]) == 5
    assert (
        caplog.text.count(
            "dropped one point New Relic refuses as too large (413): pipeline.api.attempts"
        )
        == 5
    )
    assert all(len(r.raw) <= 1500 for r in receiver.accepted())
    assert json.loads(forwarder.checkpoint())["next_minute"] == START + 8 * 60


def test_403_is_not_retried_and_the_log_never_shows_the_key(
    receiver, make_forwarder, caplog, capsys
):
    forwarder = make_forwarder()
    receiver.policy = lambda request: (403, {}, b'{"error": "The API key provided is invalid"}')
    result = forwarder.run(now=START + 10 * 60 + 1)
    assert len(receiver.requests) == 1
    assert forwarder.clock.sleeps == []
    assert result.minutes_delivered == 0
    logs = caplog.text + capsys.readouterr().out
    assert "New Relic refused the license key (403)" in logs
    assert "The API key provided is invalid" in logs
    assert LICENSE_KEY not in logs
    # the minutes wait for the next run (after the key is fixed)
    assert json.loads(forwarder.checkpoint())["next_minute"] == START + 5 * 60


@pytest.mark.parametrize(
    ("secret_value", "message"),
    [
        (None, "does not exist (NEW_RELIC_LICENSE_KEY_SECRET)"),
        ("LicenseKey=abc", "is malformed: its value must be JSON"),
        (json.dumps({"key": "abc"}), "is malformed"),
    ],
)
def test_missing_or_malformed_secret_is_a_clear_error_and_nothing_is_sent(
    receiver, make_forwarder, secret_value, message
):
    forwarder = make_forwarder(secret_value=secret_value)
    with pytest.raises(LicenseKeyError) as error:
        forwarder.run(now=START + 10 * 60 + 1)
    assert message in str(error.value)
    assert forwarder.settings.license_key_secret in str(error.value)
    assert receiver.requests == []
