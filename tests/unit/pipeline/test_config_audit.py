"""The environment file's audit section: how the loss audit finds a run's records."""

import json

import pytest

from loadtests import cli
from pipeline.config import AuditConfig, environment_path


@pytest.mark.parametrize(
    ("audit", "message"),
    [
        (
            {"enabled": True, "key_attribute": " ", "key_format": "{id}"},
            "audit.key_attribute: name the table's partition key",
        ),
        (
            {"enabled": True, "key_attribute": "pk", "key_format": "ORDER#"},
            "audit.key_format must hold {id} once",
        ),
        ({"key_attribute": "pk", "sort_key": "sk"}, "audit.sort_key: unknown field"),
    ],
)
def test_a_table_description_naming_no_key_is_one_line_and_exit_2(capsys, tmp_path, audit, message):
    data = json.loads(environment_path("local").read_text())
    data["audit"] = audit
    path = tmp_path / "mine.tfvars.json"
    path.write_text(json.dumps(data))
    assert cli.main(["run", "--scenario", "smoke", "--env", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_ids_and_keys_round_trip_through_the_format():
    orders = AuditConfig(key_attribute="pk", key_format="ORDER#{id}#v1")
    assert orders.key_of("run1.p.7") == "ORDER#run1.p.7#v1"
    assert orders.id_of("ORDER#run1.p.7#v1") == "run1.p.7"
    assert orders.id_of("CUSTOMER#1") is None
    assert AuditConfig().key_of("x") == "x" and AuditConfig().key_attribute == "event_id"
