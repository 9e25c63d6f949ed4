"""Every Terraform module documents itself: a README with each input, each output and an
example call, kept in step with variables.tf and outputs.tf."""

from __future__ import annotations

import re

import pytest

from tests.unit.terraform.conftest import MODULES, load_dir

MODULE_DIRS = sorted(p for p in MODULES.iterdir() if p.is_dir())


@pytest.mark.parametrize("module", MODULE_DIRS, ids=lambda p: p.name)
def test_module_readme_lists_every_input_and_output_and_shows_a_call(module):
    readme = module / "README.md"
    assert readme.is_file(), f"terraform/modules/{module.name} has no README.md"
    text = readme.read_text(encoding="utf-8")
    tf = load_dir(module)
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", text, re.M))
    missing_inputs = set(tf.labelled("variable")) - documented
    missing_outputs = set(tf.labelled("output")) - documented
    assert not missing_inputs, f"{readme}: inputs not documented: {sorted(missing_inputs)}"
    assert not missing_outputs, f"{readme}: outputs not documented: {sorted(missing_outputs)}"
    assert re.search(r'```hcl\nmodule "[a-z_]+" \{\n  source = "[./]+[a-z_/]+"', text), (
        f"{readme}: no example module call"
    )
