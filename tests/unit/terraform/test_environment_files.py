"""The environment files and the root's variables describe the same knobs, shape for shape."""

from __future__ import annotations

import json
import subprocess

import hcl2
import pytest
from pydantic import BaseModel

from pipeline.config import (
    EnvironmentConfig,
    EnvironmentConfigError,
    is_local_environment,
    parse_environment,
)
from tests.unit.terraform.conftest import ENVIRONMENTS, TfType, mismatches, parse_type

ENV_FILES = sorted(ENVIRONMENTS.glob("*.tfvars.json"))


def shipped(paths):
    """The files the repository ships: a user's own copy (the README's `mine.tfvars.json`,
    made from the local file) is theirs to give a backend, not a test failure."""
    listed = subprocess.run(
        ["git", "ls-files", "--", str(ENVIRONMENTS)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ENVIRONMENTS,
    )
    if listed.returncode != 0:  # not a git checkout: every file is the project's
        return paths
    tracked = {line.rsplit("/", 1)[-1] for line in listed.stdout.splitlines()}
    return [p for p in paths if p.name in tracked]


def _variable_types(root) -> dict[str, TfType]:
    return {name: parse_type(body["type"]) for name, body in root.labelled("variable").items()}


def test_the_shipped_environments_include_local_dev_and_prod():
    assert {"dev.tfvars.json", "local.tfvars.json", "prod.tfvars.json"} <= {
        p.name for p in ENV_FILES
    }


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_every_key_of_the_file_is_a_variable_and_every_variable_is_in_the_file(root, env_file):
    data = json.loads(env_file.read_text(encoding="utf-8"))
    variables = _variable_types(root)
    assert sorted(data) == sorted(variables), (
        f"{env_file.name}: keys without a variable {sorted(set(data) - set(variables))}, "
        f"variables missing from the file {sorted(set(variables) - set(data))}"
    )


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_every_value_has_its_variables_type_down_to_nested_attribute_names(root, env_file):
    data = json.loads(env_file.read_text(encoding="utf-8"))
    problems = [
        problem
        for name, tf_type in _variable_types(root).items()
        for problem in mismatches(data[name], tf_type, name)
    ]
    assert problems == []


def _model_shape(model: type[BaseModel]) -> dict:
    shape: dict = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        shape[name] = _model_shape(annotation) if is_model else None
    return shape


def _tf_shape(tf_type: TfType) -> dict | None:
    if tf_type.kind != "object":
        return None
    assert tf_type.attributes is not None
    return {name: _tf_shape(attribute) for name, attribute in tf_type.attributes.items()}


def test_the_loader_model_and_the_terraform_variables_have_the_same_fields(root):
    # The loader's model (what the local stack reads) and Terraform's variables (what AWS
    # gets) must name the same fields at every level, defaults or not.
    tf_shape = {name: _tf_shape(t) for name, t in _variable_types(root).items()}
    assert tf_shape == _model_shape(EnvironmentConfig)


def test_a_renamed_nested_key_is_reported_with_its_path():
    # GIVEN the type of `table` and a file whose GSI block has a misspelt attribute
    tf_type = parse_type("${object({name = string, type_index = object({name = string})})}")
    value = {"name": "t", "type_index": {"nmae": "by_type"}}
    # THEN both the stray key and the missing attribute are named with their path
    assert mismatches(value, tf_type, "table") == [
        "table.type_index.nmae: in the file but not an attribute of the Terraform type",
        "table.type_index.name: Terraform attribute missing from the file",
    ]


def test_a_string_where_terraform_wants_a_number_is_reported():
    tf_type = parse_type("${object({shard_count = number})}")
    assert mismatches({"shard_count": "2"}, tf_type, "stream") == [
        "stream.shard_count: expected a number, got '2'"
    ]


@pytest.mark.parametrize(
    "env_file",
    # local and local-* are for the local stack only: never deployed, no backend
    [
        p
        for p in shipped(ENV_FILES)
        if not is_local_environment(p.name.removesuffix(".tfvars.json"))
    ],
    ids=lambda p: p.name,
)
def test_every_aws_environment_has_a_partial_s3_backend_with_a_lockfile(env_file):
    env = env_file.name.removesuffix(".tfvars.json")
    backend_file = ENVIRONMENTS / f"{env}.s3.tfbackend"
    assert backend_file.is_file(), f"{backend_file} is missing"
    backend = {k: v for k, v in hcl2.loads(backend_file.read_text()).items() if k[0] != "_"}
    assert backend["use_lockfile"] is True
    assert backend["encrypt"] is True
    assert backend["key"] == f'"redline/{env}/terraform.tfstate"'
    # The bucket is given at init (-backend-config=bucket=...), so no account is hard-coded.
    assert "bucket" not in backend
    assert "dynamodb_table" not in backend


def test_the_root_declares_a_partial_s3_backend_and_terraform_1_11(root):
    terraform_blocks = [b for _, b in root.blocks("terraform")]
    assert any(b.get("backend") == [{"s3": {}}] for b in terraform_blocks), terraform_blocks
    assert any(b.get("required_version") == ">= 1.11" for b in terraform_blocks)


def _with_monitoring(**changes) -> dict:
    data = json.loads((ENVIRONMENTS / "dev.tfvars.json").read_text(encoding="utf-8"))
    data["monitoring"].update(changes)
    return data


def test_instrumentation_without_a_layer_is_refused_naming_the_field():
    with pytest.raises(EnvironmentConfigError) as excinfo:
        parse_environment(_with_monitoring(new_relic_layer_arn=""), source="dev.tfvars.json")
    assert "lambda_instrumentation needs monitoring.new_relic_layer_arn" in str(excinfo.value)


def test_a_layer_that_is_not_a_versioned_layer_arn_is_refused():
    with pytest.raises(EnvironmentConfigError) as excinfo:
        parse_environment(
            _with_monitoring(new_relic_layer_arn="NewRelicPython312ARM64"), source="x"
        )
    assert "monitoring.new_relic_layer_arn: String should match pattern" in str(excinfo.value)
