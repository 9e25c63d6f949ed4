"""Execution environments as real subprocesses: context, env, reuse, timeouts, concurrency."""

from __future__ import annotations

import threading

import pytest

from pipeline.local.runtime.cloudwatch import MetricsPublisher
from pipeline.local.runtime.functions import Function, FunctionSpec, Throttled

HANDLERS = "tests.unit.local.runtime.sample_handlers"


@pytest.fixture
def published():
    return []


@pytest.fixture
def make_function(tmp_path, published):
    created = []
    publisher = MetricsPublisher(lambda **call: published.append(call))

    def make(handler: str, timeout_s: float = 5, reserved: int = -1, env=None) -> Function:
        spec = FunctionSpec(
            name=f"fn-{handler}",
            handler=f"{HANDLERS}.{handler}",
            environment={"TABLE_NAME": "t", "AWS_REGION": "us-east-1", **(env or {})},
            timeout_s=timeout_s,
            memory_mb=512,
            reserved_concurrency=reserved,
        )
        function = Function(spec, tmp_path, publisher)
        created.append(function)
        return function

    yield make
    for function in created:
        function.close()
    publisher.flush(everything=True)


def test_handler_gets_a_lambda_context_and_the_function_environment(make_function):
    function = make_function("echo")
    result = function.invoke({"a": 1}, request_id="req-1")
    body = result.json()
    assert body["event"] == {"a": 1}
    assert body["function_name"] == "fn-echo"
    assert body["arn"] == "arn:aws:lambda:us-east-1:000000000000:function:fn-echo"
    assert body["memory"] == 512 and body["request_id"] == "req-1"
    assert 0 < body["remaining_ms"] <= 5000
    assert body["env"]["TABLE_NAME"] == "t"


def test_a_warm_environment_is_reused_and_the_module_imported_once(make_function):
    function = make_function("echo")
    pids = {function.invoke({}).json()["pid"] for _ in range(5)}
    assert len(pids) == 1 and function.stats.cold_starts == 1


def test_a_raised_exception_is_returned_as_lambdas_error_document(make_function):
    function = make_function("fail")
    result = function.invoke({"n": 7})
    assert result.error["errorType"] == "ValueError"
    assert result.error["errorMessage"] == "bad event 7"
    assert result.error["stackTrace"]
    assert function.stats.errors == 1


def test_a_timeout_kills_the_environment_and_counts_an_error(make_function):
    function = make_function("sleep", timeout_s=1)
    first = function.invoke({"seconds": 30})
    assert first.error == {
        "errorMessage": "Task timed out after 1.00 seconds",
        "errorType": "Sandbox.Timedout",
    }
    after = function.invoke({"seconds": 0})
    assert not after.failed and after.json()["slept"] == 0
    assert function.stats.timeouts == 1 and function.stats.cold_starts == 2
    assert "Task timed out after 1.00 seconds" in function.log_path.read_text()


def test_reserved_concurrency_throttles_the_excess(make_function):
    function = make_function("sleep", reserved=1)
    function.invoke({"seconds": 0})  # warm
    started = threading.Event()
    outcome = {}

    def slow():
        started.set()
        outcome["slow"] = function.invoke({"seconds": 1.5})

    thread = threading.Thread(target=slow)
    thread.start()
    started.wait()
    while function.running == 0:
        threading.Event().wait(0.01)
    with pytest.raises(Throttled) as caught:
        function.invoke({"seconds": 0})
    thread.join()
    assert caught.value.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert not outcome["slow"].failed
    assert function.stats.throttles == 1


def test_an_import_error_fails_each_invocation_with_the_module_named(make_function):
    function = make_function("does_not_exist")
    result = function.invoke({})
    assert result.error["errorType"].startswith("Runtime.ImportModuleError")
    assert "does_not_exist" in result.error["errorMessage"]


def test_an_environment_that_exits_is_replaced(make_function):
    function = make_function("exit_process")
    result = function.invoke({})
    assert result.error["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in result.error["errorMessage"]


def test_emf_lines_become_metrics_and_logs_read_like_cloudwatch(make_function, published):
    function = make_function("emf")
    function.invoke({"stored": 4}, request_id="req-emf")
    function.close()
    log = function.log_path.read_text()
    assert "START RequestId: req-emf Version: $LATEST" in log
    assert "a plain log line" in log
    assert "END RequestId: req-emf" in log
    assert "REPORT RequestId: req-emf\tDuration:" in log and "Init Duration:" in log
    function._publisher.flush(everything=True)
    data = [(c["Namespace"], d) for c in published for d in c["MetricData"]]
    stored = [d for ns, d in data if ns == "Redline" and d["MetricName"] == "RecordsStored"]
    assert stored and stored[0]["Values"] == [4.0]
    lambda_names = {d["MetricName"] for ns, d in data if ns == "AWS/Lambda"}
    assert {"Invocations", "Duration", "ConcurrentExecutions"} <= lambda_names


def test_an_init_past_the_init_timeout_is_an_invocation_error_not_a_crash(tmp_path, published):
    spec = FunctionSpec(
        name="fn-slow-init",
        handler="tests.unit.local.runtime.slow_init_handlers.handler",
        environment={"AWS_REGION": "us-east-1"},
        timeout_s=5,
        memory_mb=512,
        reserved_concurrency=-1,
    )
    function = Function(spec, tmp_path, None, init_timeout_s=0.5)
    try:
        result = function.invoke({})
    finally:
        function.close()

    assert result.error == {
        "errorMessage": "Init of fn-slow-init did not finish in 0 s",
        "errorType": "Runtime.InitTimeout",
    }
    assert function.stats.errors == 1 and function.running == 0


def test_get_function_shows_secret_looking_variables_as_redacted():
    from pipeline.local.runtime.invoke_api import redacted_environment

    shown = redacted_environment(
        {
            "NEW_RELIC_LICENSE_KEY": "nr-key",
            "AWS_SECRET_ACCESS_KEY": "s",
            "REDLINE_API_TOKEN": "t",
            "DB_PASSWORD": "p",
            "TABLE_NAME": "events",
        }
    )
    assert shown == {
        "NEW_RELIC_LICENSE_KEY": "REDACTED",
        "AWS_SECRET_ACCESS_KEY": "REDACTED",
        "REDLINE_API_TOKEN": "REDACTED",
        "DB_PASSWORD": "REDACTED",
        "TABLE_NAME": "events",
    }
