"""make compare: figures side by side, change in percent, worse beyond the tolerance flagged."""

import json

from reports import runfolder as rf
from reports.cli import main


def _row(out: str, name: str) -> list[str]:
    line = next(line for line in out.splitlines() if line.startswith(name + "  "))
    return line[len(name) :].split()


def test_a_run_compared_with_itself_has_no_regression(capacity_run, capsys):
    assert main(["compare", str(capacity_run), str(capacity_run), "--fail-on-regression"]) == 0
    out = capsys.readouterr().out
    assert _row(out, "knee") == ["996", "996", "+0.0%"]
    assert "no figure worse beyond 10%" in out


def test_a_lower_knee_is_flagged_and_fails_when_asked(capacity_run, table_run, capsys, tmp_path):
    assert main(["compare", str(capacity_run), str(table_run)]) == 0  # not asked to fail
    out = capsys.readouterr().out
    assert _row(out, "knee") == ["996", "130", "-86.9%", "WORSE"]
    assert "1 figure(s) worse beyond 10%: knee" in out
    markdown = tmp_path / "compare.md"
    args = ["compare", str(capacity_run), str(table_run), "--fail-on-regression"]
    assert main([*args, "--output", str(markdown)]) == 1
    assert "| knee | 996 | 130 | -86.9% | **WORSE** |" in markdown.read_text()


def test_any_loss_is_a_regression_whatever_the_tolerance(capacity_run, tmp_path, capsys):
    import shutil

    lossy = shutil.copytree(capacity_run, tmp_path / "lossy")
    audit = json.loads((lossy / rf.AUDIT_JSON).read_text())
    audit["lost"] = 1
    (lossy / rf.AUDIT_JSON).write_text(json.dumps(audit))
    args = ["compare", str(capacity_run), str(lossy), "--tolerance", "5", "--fail-on-regression"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert _row(out, "lost") == ["0", "1", "new", "WORSE"]


def test_a_wider_tolerance_lets_a_small_change_pass(capacity_run, table_run, capsys):
    assert main(["compare", str(capacity_run), str(table_run), "--tolerance", "0.9"]) == 0
    assert "no figure worse beyond 90%" in capsys.readouterr().out


def test_bad_inputs_exit_2_with_the_reason(capacity_run, tmp_path, capsys):
    assert main(["compare", str(capacity_run), str(tmp_path)]) == 2
    assert f"{tmp_path} is not a run folder: run.json is missing" in capsys.readouterr().err
    assert main(["compare", str(capacity_run), str(capacity_run), "--tolerance", "-1"]) == 2
    assert "--tolerance must be a share between 0 and 10" in capsys.readouterr().err
    assert main(["compare", str(capacity_run)]) == 2
    assert "the following arguments are required: b" in capsys.readouterr().err
