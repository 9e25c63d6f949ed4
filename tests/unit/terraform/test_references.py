"""What `terraform validate` would catch first, without providers: dangling references."""

from __future__ import annotations

import re

import pytest

from tests.unit.terraform.conftest import TF_ROOT, all_tf_dirs, load_dir

# Resource addresses: a provider type (aws_...) then a name, used with an attribute or index.
RESOURCE_REF = re.compile(r"(?<![\w.])((?:aws|terraform)_[a-z0-9_]+)\.([a-z0-9_]+)\s*[.\[]")
DATA_REF = re.compile(r"(?<![\w.])data\.([a-z0-9_]+)\.([a-z0-9_]+)")
VAR_REF = re.compile(r"(?<![\w.])var\.([a-z0-9_]+)")
LOCAL_REF = re.compile(r"(?<![\w.])local\.([a-z0-9_]+)")


def _code(text: str) -> str:
    """The configuration without whole-line comments (where prose may name resources)."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def dangling(tf_dir) -> list[str]:
    tf = load_dir(tf_dir)
    resources = set(tf.typed("resource"))
    data = set(tf.typed("data"))
    variables = set(tf.labelled("variable"))
    local_names = set(tf.locals())
    problems = []
    for name, text in tf.texts.items():
        code = _code(text)
        for kind, label in RESOURCE_REF.findall(code):
            if (kind, label) not in resources:
                problems.append(f"{name}: {kind}.{label} is not declared")
        for kind, label in DATA_REF.findall(code):
            if (kind, label) not in data:
                problems.append(f"{name}: data.{kind}.{label} is not declared")
        problems += [
            f"{name}: var.{v} is not declared" for v in VAR_REF.findall(code) if v not in variables
        ]
        problems += [
            f"{name}: local.{v} is not defined"
            for v in LOCAL_REF.findall(code)
            if v not in local_names
        ]
    return sorted(set(problems))


@pytest.mark.parametrize("tf_dir", all_tf_dirs(), ids=lambda p: str(p.relative_to(TF_ROOT)))
def test_every_reference_points_at_something_declared(tf_dir):
    assert dangling(tf_dir) == []


def test_a_dangling_reference_is_reported(tmp_path):
    (tmp_path / "main.tf").write_text(
        'variable "a" {\n  type = string\n}\n'
        'resource "aws_sqs_queue" "this" {\n'
        "  name = var.b\n"
        "  kms_master_key_id = aws_kms_key.missing.arn\n"
        "}\n"
    )
    assert dangling(tmp_path) == [
        "main.tf: aws_kms_key.missing is not declared",
        "main.tf: var.b is not declared",
    ]
