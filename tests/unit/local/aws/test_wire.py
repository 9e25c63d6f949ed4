"""Kinesis byte arithmetic, AWS's throttle wording, GSI write costs and the CLI's checks."""

from __future__ import annotations

import base64

import pytest

from pipeline.local.aws import __main__ as cli
from pipeline.local.aws.dynamodb import DynamoFront, Index, Table
from pipeline.local.aws.kinesis import base64_length, read_throttle_message, write_throttle_message
from pipeline.local.aws.limits import TokenBucket


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 499, 500, 1024, 1024 * 1024])
def test_base64_length_is_the_decoded_size(size):
    assert base64_length(base64.b64encode(b"x" * size).decode()) == size


def test_throttle_messages_use_aws_wording():
    assert write_throttle_message("shardId-000000000001", "events") == (
        "Rate exceeded for shard shardId-000000000001 in stream events under account 000000000000."
    )
    assert read_throttle_message("shardId-000000000001", "events") == (
        "Rate exceeded for Shard - 000000000000/events/shardId-000000000001"
    )


def _table(projection: str = "ALL", non_key: tuple[str, ...] = ()) -> Table:
    def cap():
        from pipeline.local.aws.dynamodb import Capacity

        return Capacity(TokenBucket(1, 1), TokenBucket(1, 1), 1, 1)

    table = Table("t", False, "event_id", None, cap())
    table.indexes["by_type"] = Index("by_type", "type", "produced_at", projection, non_key, cap())
    return table


def _item(event_id: str, type_: str | None, payload: int = 10) -> dict:
    item = {"event_id": {"S": event_id}, "payload": {"S": "p" * payload}}
    if type_ is not None:
        item |= {"type": {"S": type_}, "produced_at": {"N": "1"}}
    return item


def test_gsi_write_costs_follow_aws_rules():
    front = DynamoFront.__new__(DynamoFront)
    table = _table()
    assert front._index_writes(table, None, _item("a", None)) == {}  # not in the index
    assert front._index_writes(table, None, _item("a", "x", 2500)) == {"by_type": 3}
    assert front._index_writes(table, _item("a", "x"), _item("a", "x")) == {"by_type": 1}
    assert front._index_writes(table, _item("a", "x"), _item("a", "y")) == {
        "by_type": 2
    }  # key change
    assert front._index_writes(table, _item("a", "x"), None) == {"by_type": 1}  # delete
    keys_only = _table("KEYS_ONLY")
    assert front._index_writes(keys_only, None, _item("a", "x", 5000)) == {"by_type": 1}


def test_cli_rejects_bad_options_with_the_allowed_values(monkeypatch, capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--burst-seconds", "0"])
    assert "--burst-seconds 0.0: expected 1 or more" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.parse_args(["--port", "70000"])
    assert "expected 0-65535" in capsys.readouterr().err
    monkeypatch.setenv("REDLINE_AWS_PORT", "abc")
    with pytest.raises(SystemExit) as caught:
        cli.parse_args([])
    assert "REDLINE_AWS_PORT='abc' is not a port number" in str(caught.value)
    monkeypatch.setenv("REDLINE_AWS_PORT", "4999")
    assert cli.parse_args([]).port == 4999
