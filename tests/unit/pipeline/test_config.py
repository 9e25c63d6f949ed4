import json

import pytest

from pipeline.config import (
    EnvironmentConfigError,
    StreamMode,
    available_environments,
    load_environment,
    parse_environment,
    to_tfvars,
)


def _local() -> dict:
    return json.loads(load_environment("local").model_dump_json())


@pytest.mark.parametrize("name", ["local", "dev"])
def test_shipped_environment_files_are_valid(name):
    config = load_environment(name)
    assert config.environment == name


def test_local_environment_is_one_provisioned_shard():
    config = load_environment("local")
    assert config.stream.mode is StreamMode.PROVISIONED
    assert config.stream.shard_count == 1


@pytest.mark.parametrize(
    ("section", "field", "value", "expected"),
    [
        (
            "stream",
            "shard_count",
            0,
            "stream.shard_count: Input should be greater than or equal to 1 (got 0)",
        ),
        (
            "stream",
            "mode",
            "FAST",
            "stream.mode: Input should be 'PROVISIONED' or 'ON_DEMAND' (got \"FAST\")",
        ),
        (
            "ingest",
            "batch_size",
            20000,
            "ingest.batch_size: Input should be less than or equal to 10000 (got 20000)",
        ),
        (
            "ingest",
            "parallelization_factor",
            11,
            "ingest.parallelization_factor: Input should be less than or equal to 10",
        ),
        (
            "table",
            "billing_mode",
            "ON_DEMAND",
            "table.billing_mode: Input should be 'PROVISIONED' or 'PAY_PER_REQUEST'",
        ),
        (
            "ingest",
            "maximum_record_age_seconds",
            30,
            "maximum_record_age_seconds must be -1 (forever) or 60..604800, got 30",
        ),
    ],
)
def test_bad_value_names_the_field_and_the_allowed_values(section, field, value, expected):
    # GIVEN the local file with one bad value
    data = _local()
    data[section][field] = value
    # WHEN it is loaded THEN the error names the field and what is allowed
    with pytest.raises(EnvironmentConfigError) as excinfo:
        parse_environment(data, source="bad.tfvars.json")
    assert "bad.tfvars.json is not a valid environment file" in str(excinfo.value)
    assert expected in str(excinfo.value)


def test_unknown_field_is_reported_as_a_spelling_mistake():
    data = _local()
    data["stream"]["shards"] = 2
    with pytest.raises(EnvironmentConfigError, match=r"stream\.shards: unknown field"):
        parse_environment(data)


def test_missing_section_is_reported():
    data = _local()
    del data["queues"]
    with pytest.raises(EnvironmentConfigError, match="queues: required field is missing"):
        parse_environment(data)


def test_unknown_environment_lists_the_known_ones():
    with pytest.raises(EnvironmentConfigError) as excinfo:
        load_environment("staging")
    assert "staging.tfvars.json does not exist" in str(excinfo.value)
    for name in available_environments():
        assert name in str(excinfo.value)


def test_file_that_is_not_json_names_the_line(tmp_path):
    path = tmp_path / "broken.tfvars.json"
    path.write_text('{"environment": "x",\n  oops}')
    with pytest.raises(EnvironmentConfigError, match=r"is not valid JSON: line 2 column 3"):
        load_environment(path)


def test_new_relic_enabled_without_a_license_key_secret_is_refused():
    # GIVEN New Relic switched on but no secret to read the key from
    data = _local()
    data["monitoring"]["new_relic_enabled"] = True
    data["monitoring"]["new_relic_account_id"] = "1234567"
    # WHEN it is loaded THEN the missing field is named
    with pytest.raises(EnvironmentConfigError) as excinfo:
        parse_environment(data, source="nr.tfvars.json")
    assert "new_relic_enabled needs monitoring.new_relic_license_key_secret_name" in str(
        excinfo.value
    )


@pytest.mark.parametrize("age", [-1, 12 * 3600 + 1])
def test_record_age_must_leave_half_the_retention_to_replay(age):
    data = _local()
    data["ingest"]["maximum_record_age_seconds"] = age

    with pytest.raises(EnvironmentConfigError) as raised:
        parse_environment(data, source="x.tfvars.json")

    assert "ingest.maximum_record_age_seconds must be 60..43200" in str(raised.value)
    assert f"got {age}" in str(raised.value)


@pytest.mark.parametrize("name", ["dev", "prod", "staging", "localhost"])
def test_an_open_api_is_refused_outside_local_environments(name):
    data = to_tfvars(load_environment("local"))
    data["environment"] = name
    with pytest.raises(EnvironmentConfigError) as error:
        parse_environment(data, source=f"{name}.tfvars.json")
    assert "api.auth_type NONE" in str(error.value)
    assert "use AWS_IAM or JWT" in str(error.value)


@pytest.mark.parametrize("name", ["local", "local-iam", "local-ci"])
def test_local_environments_may_leave_the_api_open(name):
    data = to_tfvars(load_environment("local"))
    data["environment"] = name
    assert parse_environment(data).api.auth_type == "NONE"


def test_the_loaders_default_auth_is_aws_iam_and_jwt_needs_issuer_and_audience():
    data = to_tfvars(load_environment("dev"))
    del data["api"]["auth_type"]
    assert parse_environment(data).api.auth_type == "AWS_IAM"
    data["api"].update(auth_type="JWT", jwt_issuer="", jwt_audience=[])
    with pytest.raises(EnvironmentConfigError) as error:
        parse_environment(data)
    assert "api.auth_type JWT needs api.jwt_issuer" in str(error.value)
