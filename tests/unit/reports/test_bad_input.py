"""Bad input: one clear message, exit 2, and no report written (nor an old one disturbed)."""

import json

import pytest

from reports import runfolder as rf
from reports.cli import main
from tests.unit.reports import runs

REPORT_OUTPUTS = (rf.REPORT_HTML, rf.REPORT_MD, rf.RECOMMENDED_TFVARS, rf.CHARTS_DIR)


def _fails(run, capsys, *args) -> str:
    before = {p.name: p.stat().st_mtime_ns for p in run.iterdir()} if run.is_dir() else {}
    summary = (run / rf.SUMMARY_JSON).read_bytes() if (run / rf.SUMMARY_JSON).exists() else None
    assert main(["build", str(run), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert len(err.strip().splitlines()) == 1
    if run.is_dir():
        after = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
        assert after == before  # nothing new, nothing touched, no staging folder left
        for name in REPORT_OUTPUTS:
            assert not (run / name).exists()
        if summary is not None:
            assert (run / rf.SUMMARY_JSON).read_bytes() == summary
    return err


def test_a_folder_that_is_not_a_run(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    err = _fails(tmp_path, capsys)
    assert f"{tmp_path} is not a run folder: run.json is missing" in err


def test_a_path_that_does_not_exist(tmp_path, capsys):
    err = _fails(tmp_path / "nope", capsys)
    assert "nope does not exist" in err


def test_results_latest_before_any_run_says_how_to_make_one(tmp_path, capsys):
    err = _fails(tmp_path / "results" / "latest", capsys)
    assert "results/latest does not exist (no run yet: `make loadtest` writes one)" in err


def test_a_file_instead_of_a_folder(tmp_path, capsys):
    file = tmp_path / "run.json"
    file.write_text("{}")
    err = _fails(file, capsys)
    assert "is not a folder" in err


def test_a_truncated_timeline(capacity_run, capsys):
    runs.truncate(capacity_run / rf.TIMELINE_CSV)
    err = _fails(capacity_run, capsys)
    assert "timeline.csv line" in err
    assert "the file is truncated or damaged" in err


def test_a_truncated_cloudwatch_file(capacity_run, capsys):
    runs.truncate(capacity_run / rf.CLOUDWATCH_CSV, 0.3)
    err = _fails(capacity_run, capsys)
    assert "cloudwatch.csv line" in err and "truncated" in err


def test_a_truncated_steps_file(capacity_run, capsys):
    runs.truncate(capacity_run / rf.STEPS_CSV, 0.6)
    err = _fails(capacity_run, capsys)
    assert "steps.csv line" in err and "truncated" in err


def test_a_timeline_cut_before_its_header_ends(capacity_run, capsys):
    (capacity_run / rf.TIMELINE_CSV).write_text("timestamp,elapsed_s,pha")
    err = _fails(capacity_run, capsys)
    assert "timeline.csv line 1 is incomplete (no end of line): the file is truncated" in err


def test_a_timeline_from_another_tool_names_the_missing_columns(capacity_run, capsys):
    (capacity_run / rf.TIMELINE_CSV).write_text("timestamp,elapsed_s,offered\n1,0,5\n")
    err = _fails(capacity_run, capsys)
    assert "timeline.csv lacks column(s) phase, request_type, target_rate" in err


def test_an_empty_timeline(capacity_run, capsys):
    (capacity_run / rf.TIMELINE_CSV).write_text("")
    err = _fails(capacity_run, capsys)
    assert "timeline.csv is empty (no header line): the file is truncated" in err


def test_a_missing_timeline(capacity_run, capsys):
    (capacity_run / rf.TIMELINE_CSV).unlink()
    err = _fails(capacity_run, capsys)
    assert "timeline.csv is missing from" in err


def test_a_column_missing_names_it(capacity_run, capsys):
    path = capacity_run / rf.TIMELINE_CSV
    lines = path.read_text().splitlines()
    cut = [",".join(line.split(",")[:-1]) for line in lines]  # drop latency_max_ms
    path.write_text("\n".join(cut) + "\n")
    err = _fails(capacity_run, capsys)
    assert "timeline.csv lacks column(s) latency_max_ms" in err


def test_a_value_that_is_not_a_number(capacity_run, capsys):
    path = capacity_run / rf.TIMELINE_CSV
    lines = path.read_text().splitlines()
    fields = lines[3].split(",")
    fields[5] = "lots"  # offered
    lines[3] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    err = _fails(capacity_run, capsys)
    assert "timeline.csv line 4 column offered: 'lots' is not a number" in err


def test_a_run_with_no_traffic(tmp_path, capsys):
    run = runs.no_traffic_run(tmp_path / "quiet")
    for name in (rf.REPORT_HTML, rf.REPORT_MD):
        assert not (run / name).exists()
    err = _fails(run, capsys)
    assert "the run has no traffic" in err
    assert "0 records or requests offered" in err


def test_a_run_with_a_header_only_timeline(capacity_run, capsys):
    path = capacity_run / rf.TIMELINE_CSV
    path.write_text(path.read_text().splitlines()[0] + "\n")
    err = _fails(capacity_run, capsys)
    assert "the run has no traffic: timeline.csv has a header and no rows" in err


def test_a_truncated_run_json(capacity_run, capsys):
    path = capacity_run / rf.RUN_JSON
    path.write_text(path.read_text()[:200])
    err = _fails(capacity_run, capsys)
    assert "run.json is not valid JSON" in err and "truncated" in err


def test_run_json_without_the_environment(capacity_run, capsys):
    path = capacity_run / rf.RUN_JSON
    data = json.loads(path.read_text())
    del data["environment"]
    path.write_text(json.dumps(data))
    err = _fails(capacity_run, capsys)
    assert "run.json lacks key(s) environment" in err


def test_run_json_with_a_bad_environment_names_the_field(capacity_run, capsys):
    path = capacity_run / rf.RUN_JSON
    data = json.loads(path.read_text())
    data["environment"]["stream"]["shard_count"] = 0
    path.write_text(json.dumps(data))
    err = _fails(capacity_run, capsys)
    assert "stream.shard_count: Input should be greater than or equal to 1" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target-rate", "-5"], "--target-rate (TARGET_RATE) must be a number of records/s"),
        (["--target-rate", "nan"], "--target-rate (TARGET_RATE) must be a number of records/s"),
        (["--target-rate", "lots"], "argument --target-rate: invalid float value: 'lots'"),
        (["--utilization", "1.5"], "--utilization must be between 0.2 and 0.95"),
    ],
)
def test_bad_options(capacity_run, capsys, args, message):
    err = _fails(capacity_run, capsys, *args)
    assert message in err


def test_a_bad_price_file(capacity_run, capsys, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text('{"dynamodb": {"wcu_hour": "cheap"}}')
    err = _fails(capacity_run, capsys, "--prices", str(prices))
    assert "dynamodb.wcu_hour: Input should be a valid number" in err


def test_a_failure_keeps_the_previous_report(capacity_run, capsys):
    assert main(["build", str(capacity_run)]) == 0
    capsys.readouterr()
    old = (capacity_run / rf.REPORT_MD).read_bytes()
    runs.truncate(capacity_run / rf.CLOUDWATCH_CSV)
    assert main(["build", str(capacity_run)]) == 2
    assert (capacity_run / rf.REPORT_MD).read_bytes() == old
    assert len(list((capacity_run / rf.CHARTS_DIR).glob("*.png"))) == 4


def test_a_crash_while_writing_leaves_no_staging_folder(capacity_run, monkeypatch):
    from reports import builder

    def broken(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(builder.os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        builder.build(capacity_run)
    assert not [p for p in capacity_run.iterdir() if p.name.startswith(".report-")]
    assert not (capacity_run / rf.REPORT_HTML).exists()


def test_unknown_command_exits_2(capsys):
    assert main(["publish"]) == 2
    assert "invalid choice: 'publish'" in capsys.readouterr().err
