"""Module conventions: the four files, typed and described variables, a primary `this`."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.unit.terraform.conftest import MODULES, TF_ROOT, all_tf_dirs, load_dir

OWN_MODULES = ["api", "forwarder", "function", "ingest", "kms_key", "stream", "table"]


def test_the_modules_of_the_issue_exist():
    assert set(OWN_MODULES) <= {p.name for p in MODULES.iterdir() if p.is_dir()}


@pytest.mark.parametrize("module", OWN_MODULES)
def test_module_has_main_variables_outputs_versions(module):
    assert sorted(p.name for p in (MODULES / module).glob("*.tf")) == [
        "main.tf",
        "outputs.tf",
        "variables.tf",
        "versions.tf",
    ]


@pytest.mark.parametrize("tf_dir", all_tf_dirs(), ids=lambda p: str(p.relative_to(TF_ROOT)))
def test_every_variable_and_output_is_described_and_every_variable_typed(tf_dir):
    tf = load_dir(tf_dir)
    problems = [
        f"variable {name}: needs {what}"
        for name, body in tf.labelled("variable").items()
        for what in ("type", "description")
        if not body.get(what)
    ] + [
        f"output {name}: needs a description"
        for name, body in tf.labelled("output").items()
        if not body.get("description")
    ]
    assert problems == []


@pytest.mark.parametrize("module", OWN_MODULES)
def test_module_has_a_primary_resource_named_this(module):
    names = {name for (_, name) in load_dir(MODULES / module).typed("resource")}
    assert "this" in names


@pytest.mark.parametrize("module", OWN_MODULES)
def test_module_pins_terraform_and_the_aws_provider(module):
    terraform = load_dir(MODULES / module).blocks("terraform")[0][1]
    assert terraform["required_version"]
    assert terraform["required_providers"][0]["aws"]["source"] == "hashicorp/aws"


# terraform fmt needs only the binary (no provider download), so it runs wherever terraform
# is on PATH: here (/usr/local/bin/terraform) and in CI's setup-terraform job. `terraform
# validate` needs the providers and runs in CI only (.github/workflows/ci.yml).
if shutil.which("terraform"):

    def test_terraform_fmt_finds_nothing_to_change():
        result = subprocess.run(
            ["terraform", f"-chdir={TF_ROOT}", "fmt", "-check", "-recursive", "-diff"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
