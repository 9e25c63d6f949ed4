"""An execution environment whose init does not finish in time is an init error, not a crash
of the event source mapping's loop (which dropped the batch: records lost on a busy machine)."""

from pipeline.local.runtime.functions import ExecutionEnvironment


def test_an_init_timeout_is_reported_as_runtime_init_timeout():
    environment = ExecutionEnvironment.__new__(ExecutionEnvironment)
    environment.spec = type("Spec", (), {"name": "redline-ingest-local"})()
    environment._next_frame = lambda timeout_s: None  # nothing came back in time
    killed = []
    environment.kill = lambda: killed.append(True)
    environment.init_error = None
    environment.wait_ready(10.0)
    assert killed == [True]
    assert environment.init_error == {
        "errorMessage": "Init of redline-ingest-local did not finish in 10 s",
        "errorType": "Runtime.InitTimeout",
    }
