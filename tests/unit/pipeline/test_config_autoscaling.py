"""The environment loader refuses autoscaling blocks Application Auto Scaling would refuse."""

import json

import pytest

from pipeline.config import EnvironmentConfigError, load_environment, parse_environment


def _local_with_autoscaling(**autoscaling) -> dict:
    data = json.loads(load_environment("local").model_dump_json())
    data["table"]["autoscaling"].update({"enabled": True, **autoscaling})
    return data


@pytest.mark.parametrize("target", [19, 91, 0, 100])
def test_target_outside_20_to_90_names_the_field(target):
    data = _local_with_autoscaling(target_utilization=target)
    with pytest.raises(EnvironmentConfigError) as excinfo:
        parse_environment(data, source="bad.tfvars.json")
    message = str(excinfo.value)
    assert "table.autoscaling.target_utilization" in message
    assert f"(got {target})" in message
    assert ("20" if target < 20 else "90") in message


def test_minimum_above_maximum_names_both_fields_and_the_allowed_range():
    # GIVEN a table whose write capacity (the autoscaling minimum) exceeds the maximum
    data = _local_with_autoscaling(max_write_capacity=100)
    data["table"]["write_capacity"] = 200
    data["table"]["type_index"]["write_capacity"] = 50
    with pytest.raises(EnvironmentConfigError) as excinfo:
        parse_environment(data, source="bad.tfvars.json")
    message = str(excinfo.value)
    assert "table.autoscaling.max_write_capacity (100) is below table.write_capacity (200)" in (
        message
    )
    assert "allowed values are 200..40000" in message
    assert "type_index.write_capacity" not in message  # the index's 50 fits under 100


def test_index_minimum_above_maximum_is_named():
    data = _local_with_autoscaling(max_read_capacity=600)
    data["table"]["read_capacity"] = 100
    data["table"]["type_index"]["read_capacity"] = 700
    with pytest.raises(EnvironmentConfigError) as excinfo:
        parse_environment(data, source="bad.tfvars.json")
    assert "max_read_capacity (600) is below table.type_index.read_capacity (700)" in str(
        excinfo.value
    )


def test_minimum_above_maximum_is_fine_while_autoscaling_is_off():
    data = _local_with_autoscaling(enabled=False, max_write_capacity=100)
    data["table"]["write_capacity"] = 200
    assert parse_environment(data).table.write_capacity == 200


def test_valid_block_loads():
    data = _local_with_autoscaling(target_utilization=70, max_write_capacity=3000)
    config = parse_environment(data)
    assert config.table.autoscaling.enabled
    assert config.table.autoscaling.target_utilization == 70
