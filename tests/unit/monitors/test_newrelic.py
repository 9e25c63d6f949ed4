import json

import boto3
import pytest
from moto import mock_aws

from monitors.forwarder.newrelic import (
    Item,
    LicenseKeyError,
    LicenseKeySource,
    PayloadFileSink,
    encode_body,
    pack,
)
from monitors.forwarder.points import MinuteBlock

MINUTE = 1_790_000_040


def _items(minutes=2, per_minute=3, pad=0):
    items = []
    for index in range(minutes):
        block = MinuteBlock(
            minute=MINUTE + 60 * index,
            common_attributes=(("environment", "test"),),
            points=tuple(
                {
                    "name": f"pipeline.p{n}",
                    "type": "gauge",
                    "value": n,
                    "attributes": {"pad": "x" * pad},
                }
                for n in range(per_minute)
            ),
        )
        items += [Item(block, point) for point in block.points]
    return items


def test_a_body_has_the_metric_apis_shape_one_element_per_minute():
    body = json.loads(encode_body(_items()))
    assert [element["common"]["timestamp"] for element in body] == [
        MINUTE * 1000,
        (MINUTE + 60) * 1000,
    ]
    assert body[0]["common"] == {
        "timestamp": MINUTE * 1000,
        "interval.ms": 60000,
        "attributes": {"environment": "test"},
    }
    assert [p["name"] for p in body[1]["metrics"]] == ["pipeline.p0", "pipeline.p1", "pipeline.p2"]


def test_pack_keeps_every_body_under_the_limit_and_the_order():
    items = _items(minutes=20, per_minute=50, pad=200)
    slices = pack(items, max_bytes=20_000)
    assert len(slices) > 1
    assert [i for part in slices for i in part] == items
    assert all(len(encode_body(part)) <= 20_000 for part in slices)


def test_pack_gives_an_oversized_point_a_body_of_its_own():
    items = _items(minutes=1, per_minute=3, pad=50) + _items(minutes=1, per_minute=1, pad=5000)
    slices = pack(items, max_bytes=1000)
    assert [len(part) for part in slices][-1] == 1
    assert slices[-1][0] is items[-1]


def test_one_million_bytes_is_the_default_limit():
    items = _items(minutes=15, per_minute=120, pad=600)
    slices = pack(items)
    assert len(slices) >= 2
    assert all(len(encode_body(part)) <= 1_000_000 for part in slices)


def test_payload_file_gets_one_json_line_per_body(tmp_path):
    path = tmp_path / "nested" / "payloads.jsonl"
    sink = PayloadFileSink(path)
    assert sink.deliver(_items(), deadline=0) == 6
    assert sink.deliver(_items(minutes=1), deadline=0) == 3
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])[0]["common"]["timestamp"] == MINUTE * 1000
    assert sink.stats.posts == 2 and sink.stats.accepted_points == 9


def test_key_from_the_environment_needs_no_secret():
    assert LicenseKeySource(key="abc").get() == "abc"


@mock_aws
def test_key_from_the_secret_is_read_once():
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    secrets.create_secret(Name="nr-key", SecretString=json.dumps({"LicenseKey": "from-secret"}))
    calls = []
    secrets.meta.events.register(
        "before-call.secrets-manager.GetSecretValue", lambda **kw: calls.append(1)
    )
    source = LicenseKeySource(secret_name="nr-key", secrets_client=secrets)
    assert source.get() == "from-secret"
    assert source.get() == "from-secret"
    assert len(calls) == 1


@mock_aws
@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            None,
            "New Relic license key secret 'nr-key' does not exist (NEW_RELIC_LICENSE_KEY_SECRET)",
        ),
        ("not json", "New Relic license key secret 'nr-key' is malformed: its value must be JSON"),
        (json.dumps({"licenseKey": "wrong-case"}), "is malformed"),
        (json.dumps({"LicenseKey": ""}), "is malformed"),
        (json.dumps(["LicenseKey"]), "is malformed"),
    ],
)
def test_missing_or_malformed_secret_is_a_clear_error_without_the_value(value, message):
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    if value is not None:
        secrets.create_secret(Name="nr-key", SecretString=value)
    with pytest.raises(LicenseKeyError) as error:
        LicenseKeySource(secret_name="nr-key", secrets_client=secrets).get()
    assert message in str(error.value)
    assert "wrong-case" not in str(error.value)
