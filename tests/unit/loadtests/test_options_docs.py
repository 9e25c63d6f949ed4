"""Every option says what it is, and what the docs quote as defaults is what the code does."""

import re
from pathlib import Path

import pytest

from loadtests import cli
from loadtests.options import SCENARIO_OPTIONS, defaults_text
from loadtests.scenarios import SCENARIOS

REPO_ROOT = Path(__file__).resolve().parents[3]
LOADTESTS_DOC = REPO_ROOT / "docs" / "loadtests.md"


def _run_parser():
    parser = cli.build_parser()
    return next(
        action.choices["run"] for action in parser._actions if getattr(action, "choices", None)
    )


def test_every_option_of_run_has_help_with_its_default():
    undocumented = [
        action.option_strings[0]
        for action in _run_parser()._actions
        if action.option_strings
        and action.dest != "help"
        and action.help is not None
        and "default" not in action.help
        and action.dest not in {"yes", "dry_run", "start_rate"}
    ]
    assert undocumented == []
    assert all(a.help for a in _run_parser()._actions if a.option_strings)


def test_every_scenario_knob_has_a_flag_and_make_passes_it():
    makefile = (REPO_ROOT / "mk" / "loadtest.mk").read_text(encoding="utf-8")
    missing = [flag for flag, _, _ in SCENARIO_OPTIONS.values() if f"{flag} $(" not in makefile]
    assert missing == []
    assert "--spike-multiplier" in {flag for flag, _, _ in SCENARIO_OPTIONS.values()}


def test_the_help_quotes_the_scenarios_own_defaults():
    assert defaults_text("rate") == "default: " + ", ".join(
        f"{name} {s.rate:g}" for name, s in SCENARIOS.items()
    )
    assert defaults_text("record_bytes") == f"default: {SCENARIOS['smoke'].record_bytes}"


def _scenario_rows() -> dict[str, list[str]]:
    rows = {}
    for line in LOADTESTS_DOC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `(\w+)`( \(default\))? \|(.*)\|$", line)
        if match and match.group(1) in SCENARIOS:
            rows[match.group(1)] = [cell.strip() for cell in match.group(3).split("|")]
    return rows


def _numbers(text: str) -> list[float]:
    return [float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text)]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_scenario_table_in_the_docs_quotes_the_code(name):
    # GIVEN the row docs/loadtests.md shows for the scenario: shape | mix | rate | duration
    rows = _scenario_rows()
    assert name in rows, f"docs/loadtests.md has no row for scenario {name}"
    _shape, mix, rate, duration, _gates = rows[name]
    scenario = SCENARIOS[name]
    # THEN its mix, rates and duration are the code's
    assert mix == scenario.mix
    expected_rates = [scenario.rate] + ([scenario.read_rate] if scenario.read_rate else [])
    assert _numbers(rate) == expected_rates
    seconds = _numbers(duration)[0] * (60 if "min" in duration else 1)
    assert seconds == scenario.duration_s
    assert (
        "(default)"
        in next(line for line in LOADTESTS_DOC.read_text().splitlines() if f"| `{name}`" in line)
    ) == (name == cli.DEFAULT_SCENARIO)


README = REPO_ROOT / "README.md"


def _field(model, name):
    """The field `name` of the model or of a model nested in it (table.autoscaling...)."""
    if name in model.model_fields:
        return model.model_fields[name]
    for info in model.model_fields.values():
        nested = info.annotation
        if isinstance(nested, type) and hasattr(nested, "model_fields"):
            found = _field(nested, name)
            if found is not None:
                return found
    return None


def _bounds(model, name):
    info = _field(model, name)
    assert info is not None, f"README quotes a field {name} the loader does not have"
    ge = next((m.ge for m in info.metadata if hasattr(m, "ge")), None)
    le = next((m.le for m in info.metadata if hasattr(m, "le")), None)
    return ge, le


def test_the_readme_configuration_ranges_are_the_loaders():
    # GIVEN every "`field` (lo..hi)" the README's Configuration table quotes
    from pipeline.config import EnvironmentConfig

    quoted = []
    for line in README.read_text(encoding="utf-8").splitlines():
        section = re.match(r"^\| `(\w+)` \|", line)
        if not section or section.group(1) not in EnvironmentConfig.model_fields:
            continue
        model = EnvironmentConfig.model_fields[section.group(1)].annotation
        for name, minus_one, lo, hi in re.findall(
            r"`(\w+)` \((-1 or )?(-?[\d,]+)\.\.([\d,]+)\)", line
        ):
            quoted.append((model, name, bool(minus_one), int(lo.replace(",", "")), hi))
    assert len(quoted) >= 8
    # THEN each range is what pipeline/config.py enforces
    for model, name, minus_one, lo, hi in quoted:
        ge, le = _bounds(model, name)
        assert le == int(hi.replace(",", "")), f"README quotes {name} up to {hi}, code {le}"
        assert ge == (-1 if minus_one else lo), f"README quotes {name} from {lo}, code {ge}"
