"""Prices: one data file with region, currency and date; a user file overrides any of them."""

import json

import pytest

from reports.prices import PRICES_ENV, PricesError, load_prices


def test_default_prices_are_us_east_1_usd_with_the_date_checked(monkeypatch):
    monkeypatch.delenv(PRICES_ENV, raising=False)
    prices = load_prices()
    assert (prices.region, prices.currency) == ("us-east-1", "USD")
    assert prices.checked
    assert prices.kinesis.shard_hour == 0.015
    assert prices.dynamodb.write_request_units_per_million == 0.625
    assert prices.lambda_.gb_second_arm64 == 0.0000133334


def test_a_user_file_overrides_only_what_it_names(tmp_path, monkeypatch):
    monkeypatch.delenv(PRICES_ENV, raising=False)
    override = tmp_path / "eu.json"
    override.write_text(json.dumps({"region": "eu-west-1", "kinesis": {"shard_hour": 0.017}}))
    prices = load_prices(override)
    assert prices.region == "eu-west-1"
    assert prices.kinesis.shard_hour == 0.017
    assert prices.kinesis.on_demand_gb_in == 0.08  # untouched


def test_the_environment_variable_names_the_override(tmp_path, monkeypatch):
    override = tmp_path / "p.json"
    override.write_text(json.dumps({"currency": "EUR"}))
    monkeypatch.setenv(PRICES_ENV, str(override))
    assert load_prices().currency == "EUR"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"kinesis": {"shard_hour": -1}}', "kinesis.shard_hour: Input should be greater than"),
        ('{"kinesis": {"shard_hr": 1}}', "kinesis.shard_hr: Extra inputs are not permitted"),
        ("{not json", "is not valid JSON: line 1"),
        ("[1, 2]", "must hold a JSON object"),
    ],
)
def test_a_bad_price_file_names_the_field(tmp_path, monkeypatch, content, message):
    monkeypatch.delenv(PRICES_ENV, raising=False)
    override = tmp_path / "bad.json"
    override.write_text(content)
    with pytest.raises(PricesError) as error:
        load_prices(override)
    assert message in str(error.value)
    assert str(override) in str(error.value)


def test_a_missing_price_file_is_named(tmp_path):
    with pytest.raises(PricesError, match="does not exist"):
        load_prices(tmp_path / "nope.json")
