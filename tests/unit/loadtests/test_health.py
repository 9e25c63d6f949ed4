"""Health checks name the part that failed and its log; a throttled API is not a dead one."""

from __future__ import annotations

import pytest

from loadtests import health


def answers(monkeypatch: pytest.MonkeyPatch, replies: dict[str, list]) -> None:
    def fake_get(url: str):
        queue = replies[url]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    monkeypatch.setattr(health, "_get", fake_get)


GATEWAY = health.HealthCheck("gateway", "http://127.0.0.1:1/_redline/health", "/run/logs/gw.log")
RUNTIME = health.HealthCheck("runtime", "http://127.0.0.1:2/_redline/health", "/run/logs/rt.log")
API = health.HealthCheck("api", "https://api.example/health")


def test_a_dead_engine_is_named_with_its_log_in_the_run_folder(monkeypatch):
    engine_down = {
        "ok": False,
        "checks": {
            "kinesalite": {"ok": False, "log": "/stack/logs/run-1/aws/kinesalite.log"},
            "dynalite": {"ok": True, "log": "/stack/logs/run-1/aws/dynalite.log"},
        },
    }
    answers(monkeypatch, {GATEWAY.url: [(503, engine_down, "")], RUNTIME.url: [(200, {}, "")]})
    monitor = health.HealthMonitor([GATEWAY, RUNTIME], "/stack/logs/run-1", "/run/logs")
    with pytest.raises(health.TargetUnhealthy) as caught:
        monitor.check()
    assert str(caught.value) == (
        "kinesalite (behind the gateway) is down: the gateway answers HTTP 503 at "
        f"{GATEWAY.url}; its log: /run/logs/aws/kinesalite.log"
    )


def test_a_part_not_answering_is_named(monkeypatch):
    answers(
        monkeypatch,
        {
            GATEWAY.url: [(200, {"ok": True, "checks": {}}, "")],
            RUNTIME.url: [(None, None, "refused")],
        },
    )
    with pytest.raises(health.TargetUnhealthy, match=r"^runtime is not answering .*rt\.log$"):
        health.HealthMonitor([GATEWAY, RUNTIME]).check()


def test_the_api_may_answer_5xx_twice_in_a_row_but_not_three_times(monkeypatch):
    answers(
        monkeypatch, {API.url: [(500, None, ""), (502, None, ""), (200, None, ""), (500, None, "")]}
    )
    monitor = health.HealthMonitor([API])
    for _ in range(5):  # 500, 502, 200 (resets), 500, 500
        monitor.check()
    with pytest.raises(health.TargetUnhealthy, match="api answers HTTP 500"):
        monitor.check()


def test_records_failing_with_errors_other_than_throttles_mark_the_target_broken():
    health.check_errors(offered=1000, failures=50, what="PutRecords")  # 5%: tolerated
    with pytest.raises(health.TargetUnhealthy) as caught:
        health.check_errors(offered=1000, failures=51, what="PutRecords")
    assert "51 of 1000 PutRecords records failed with errors other than throttling" in str(
        caught.value
    )


def test_a_part_that_stopped_answering_is_named_with_its_last_error(monkeypatch, tmp_path):
    stack_logs = tmp_path / "stack" / "logs" / "run-1"
    stack_logs.mkdir(parents=True)
    live = stack_logs / "gateway.log"
    live.write_text(
        "ready http://127.0.0.1:4566\n"
        f"error: engine kinesis exited with code -9 (log {stack_logs}/aws/kinesalite.log);"
        " restart the gateway\n"
    )
    gateway = health.HealthCheck("gateway", GATEWAY.url, "/run/logs/gateway.log", str(live))
    answers(monkeypatch, {GATEWAY.url: [(None, None, "Connection refused")]})
    monitor = health.HealthMonitor([gateway], str(stack_logs), "/run/logs")
    with pytest.raises(health.TargetUnhealthy) as caught:
        monitor.check()
    assert str(caught.value) == (
        f"gateway is not answering ({GATEWAY.url}: Connection refused); it said: engine kinesis"
        " exited with code -9 (log /run/logs/aws/kinesalite.log); restart the gateway;"
        " its log: /run/logs/gateway.log"
    )


def test_a_part_timing_out_is_slow_until_three_checks_in_a_row(monkeypatch):
    timeout = (None, None, "timed out")
    answers(
        monkeypatch, {RUNTIME.url: [timeout, timeout, (200, {}, ""), timeout, timeout, timeout]}
    )
    monitor = health.HealthMonitor([RUNTIME])
    for _ in range(5):  # timed out, timed out, answered (resets), timed out, timed out
        monitor.check()
    with pytest.raises(health.TargetUnhealthy, match="runtime is not answering"):
        monitor.check()


def test_only_5xx_and_refused_connections_count_as_a_failed_target():
    from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

    from loadtests.clients import target_failed

    def client_error(status: int, code: str) -> ClientError:
        return ClientError(
            {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutRecords"
        )

    assert target_failed(client_error(503, "ServiceUnavailable"))
    assert target_failed(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
    assert not target_failed(client_error(400, "ProvisionedThroughputExceededException"))
    assert not target_failed(ReadTimeoutError(endpoint_url="http://127.0.0.1:1"))
    assert not target_failed(None)


def test_failed_calls_name_the_gateway_that_answered_them_and_its_log():
    monitor = health.HealthMonitor([GATEWAY, RUNTIME], "/stack/logs/run-1", "/run/logs")
    with pytest.raises(health.TargetUnhealthy) as caught:
        health.check_errors(400, 400, "PutRecords", monitor.data_plane())
    assert str(caught.value) == (
        "the gateway (its log: /run/logs/gw.log): 400 of 400 PutRecords records failed with"
        " errors other than throttling (HTTP 5xx or no answer): the target is broken, not"
        " saturated"
    )
    on_aws = health.HealthMonitor([API])
    assert on_aws.data_plane() == "Kinesis (the AWS endpoint)"
