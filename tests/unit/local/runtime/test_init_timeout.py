"""An environment whose init does not answer in time reports Runtime.InitTimeout.

It used to go on to read the missing frame and raise TypeError; in the event source mapping
that dropped the batch (acknowledged records never stored) on a busy machine.
"""

from __future__ import annotations

from types import SimpleNamespace

from pipeline.local.runtime.functions import ExecutionEnvironment


def test_an_init_that_never_answers_is_an_init_timeout_not_a_crash():
    environment = ExecutionEnvironment.__new__(ExecutionEnvironment)
    environment.spec = SimpleNamespace(name="redline-ingest-local")
    environment.init_error = None
    killed = []
    environment._next_frame = lambda _timeout: None
    environment.kill = lambda: killed.append(True)

    environment.wait_ready(10)

    assert killed == [True]
    assert environment.init_error == {
        "errorMessage": "Init of redline-ingest-local did not finish in 10 s",
        "errorType": "Runtime.InitTimeout",
    }
