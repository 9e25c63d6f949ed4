import json
from types import SimpleNamespace

from loadtests.cli import _copy_newrelic_payloads
from reports import runfolder as rf


def _block(minute: int) -> dict:
    return {
        "common": {"timestamp": minute * 1000, "interval.ms": 60000, "attributes": {}},
        "metrics": [{"name": "pipeline.ingest.stored", "type": "count", "value": 1}],
    }


def test_the_run_folder_gets_the_minutes_of_the_run_window(tmp_path):
    # GIVEN a forwarder body covering minutes before, during and after a run
    state, run = tmp_path / "state", tmp_path / "run"
    state.mkdir()
    run.mkdir()
    minutes = [1_800_000_000 + 60 * i for i in range(6)]
    (state / rf.NEWRELIC_PAYLOADS).write_text(
        json.dumps([_block(m) for m in minutes]) + "\nnot json\n", encoding="utf-8"
    )
    # WHEN the run window is minutes[2] + 30 s .. minutes[4] + 10 s
    _copy_newrelic_payloads(SimpleNamespace(state_dir=state), run, minutes[2] + 30, minutes[4] + 10)
    # THEN the copy holds exactly the minute blocks that overlap the window
    lines = (run / rf.NEWRELIC_PAYLOADS).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    kept = [b["common"]["timestamp"] // 1000 for b in json.loads(lines[0])]
    assert kept == minutes[2:5]


def test_no_copy_when_no_minute_overlaps(tmp_path):
    state, run = tmp_path / "state", tmp_path / "run"
    state.mkdir()
    run.mkdir()
    (state / rf.NEWRELIC_PAYLOADS).write_text(json.dumps([_block(1_800_000_000)]) + "\n")
    _copy_newrelic_payloads(SimpleNamespace(state_dir=state), run, 1_900_000_000, 1_900_000_100)
    assert not (run / rf.NEWRELIC_PAYLOADS).exists()
