"""The capacity model: AWS's worked examples, and the monotonic and rounding rules."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports import model
from reports.prices import load_prices

PRICES = load_prices()
KB = 1024


# ---------------------------------------------------------------- AWS's worked examples


def test_query_of_ten_items_totalling_40_8_kb_costs_11_strong_and_5_5_eventual():
    sizes = [int(40.8 * KB / 10)] * 10  # 10 items, 40.8 KB in all: rounded up once to 44 KB
    assert model.query_read_units(sizes, consistent=True) == 11
    assert model.query_read_units(sizes, consistent=False) == 5.5


def test_batch_get_of_1_5_kb_and_6_5_kb_reads_as_12_kb():
    # each item is rounded up to 4 KB on its own: 4 KB + 8 KB = 12 KB = 3 RCU
    units = model.batch_get_read_units([int(1.5 * KB), int(6.5 * KB)], consistent=True)
    assert units * 4 == 12


def test_a_600_record_put_records_of_1_1_kb_records_fits_one_shard_second():
    # 600 records x 1.1 KB = 660 KB: under 1,000 records and 1 MiB a shard a second
    assert model.shards_for(600, 1.1 * KB) == 1
    assert model.shard_write_utilization(600, 600 * 1.1 * KB, 1) < 1


def test_write_units_round_each_item_up_to_1_kb():
    assert model.write_units(1) == 1
    assert model.write_units(KB) == 1
    assert model.write_units(KB + 1) == 2
    assert model.write_units(3500, transactional=True) == 8


def test_eventually_consistent_read_of_a_missing_item_still_costs_half_a_unit():
    assert model.read_units(0, consistent=False) == 0.5


def test_one_shard_at_1000_records_of_1_kb_needs_at_least_5_shards_for_5x():
    assert model.shards_for(5 * 1000, 1000, utilization=1.0) == 5
    assert model.shards_for(5 * 1000, 1000, utilization=0.7) >= 5


def test_shards_take_the_largest_of_records_bytes_and_reads():
    assert model.shards_for(100, 100 * KB) == 10  # 10,000 KiB/s write
    assert model.shards_for(1500, 10) == 2  # records bound
    assert model.shards_for(1000, 1 * KB, consumers=3) == 2  # 3 readers x 1 MiB/s > 2 MiB/s


def test_provisioned_units_at_70_percent_of_700_is_1000():
    assert model.provisioned_units(700, 0.7) == 1000
    assert model.provisioned_units(0, 0.7) == 1


def test_hot_key_caps_the_stream_whatever_the_shard_count():
    assert model.hot_key_ceiling_rps(0.5, 100) == 2000
    assert model.hot_key_ceiling_rps(1.0, 2 * KB) == pytest.approx(512)  # 1 MiB/s of 2 KiB
    assert model.hot_key_ceiling_rps(0, 100) is None


def test_zipf_top_share_of_one_key_is_everything():
    assert model.zipf_top_share(1, 1.1) == 1.0
    assert 0 < model.zipf_top_share(1000, 1.1) < 0.2


def test_stream_concurrency_is_shards_times_parallelization():
    assert model.stream_concurrency(4, 3) == 12


def test_api_concurrency_by_littles_law():
    assert model.api_concurrency(500, 20) == 10
    assert model.api_concurrency(0, 20) == 0


def test_parallelization_needed_when_the_handler_is_slow():
    assert model.parallelization_needed(1000, 0.5) == 1
    assert model.parallelization_needed(1000, 2.5) == 3
    assert model.parallelization_needed(1000, 50) == 10  # capped
    assert model.parallelization_needed(10, 0.1, current=4) == 4  # never lowered


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: model.provisioned_units(10, 0), "utilization must be in (0, 1]"),
        (lambda: model.shards_for(10, 10, utilization=1.5), "utilization must be in (0, 1]"),
        (lambda: model.hot_key_ceiling_rps(1.5, 10), "hot_share must be in 0..1"),
        (lambda: model.shard_write_utilization(1, 1, 0), "shards must be >= 1"),
        (lambda: model.zipf_top_share(0, 1.1), "key_count must be >= 1"),
    ],
)
def test_bad_arguments_name_the_parameter(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("]", r"\]")):
        call()


# ---------------------------------------------------------------- costs, from the price file


def test_kinesis_provisioned_cost_is_shard_hours_plus_put_payload_units():
    cost = model.kinesis_provisioned_cost(2, 1000, 1000, 24, PRICES)
    shard_hours = 2 * 730 * 0.015
    units = 1000 * 730 * 3600 / 1e6 * 0.014
    assert cost.total == pytest.approx(shard_hours + units)
    assert dict(cost.items)["shard-hours"] == pytest.approx(21.9)


def test_kinesis_extended_retention_costs_per_shard_hour():
    short = model.kinesis_provisioned_cost(1, 10, 100, 24, PRICES)
    long = model.kinesis_provisioned_cost(1, 10, 100, 168, PRICES)
    assert long.total - short.total == pytest.approx(730 * 0.02)


def test_kinesis_on_demand_rounds_each_record_up_to_1_kb_in():
    small = model.kinesis_on_demand_cost(1000, 10, 1, PRICES)
    full = model.kinesis_on_demand_cost(1000, KB, 1, PRICES)
    assert dict(small.items)["data in"] == pytest.approx(dict(full.items)["data in"])
    gb_in = 1000 * KB * 730 * 3600 / 1024**3
    assert dict(full.items)["data in"] == pytest.approx(gb_in * 0.08)


def test_dynamodb_costs_per_unit_hour_and_per_million_requests():
    provisioned = model.dynamodb_provisioned_cost(1000, 500, PRICES)
    assert provisioned.total == pytest.approx(1000 * 730 * 0.00065 + 500 * 730 * 0.00013)
    on_demand = model.dynamodb_on_demand_cost(100, 100, PRICES)
    assert on_demand.total == pytest.approx(100 * 730 * 3600 / 1e6 * (0.625 + 0.125))


def test_lambda_cost_depends_on_the_architecture():
    arm = model.lambda_cost(10, 100, 1024, "arm64", PRICES)
    x86 = model.lambda_cost(10, 100, 1024, "x86_64", PRICES)
    assert x86.total > arm.total
    gb_s = 10 * 730 * 3600 * 0.1
    assert dict(arm.items)["GB-seconds"] == pytest.approx(gb_s * 0.0000133334)


def test_api_gateway_second_tier_is_cheaper():
    per_s_for_300m = 300e6 / (730 * 3600)
    first = model.api_gateway_cost(per_s_for_300m, PRICES)
    assert first.total == pytest.approx(300.0)
    double = model.api_gateway_cost(2 * per_s_for_300m, PRICES)
    assert double.total == pytest.approx(300.0 + 270.0)


# ---------------------------------------------------------------- properties

rates = st.floats(min_value=0, max_value=1e6, allow_nan=False)
sizes = st.integers(min_value=1, max_value=1024 * 1024)
utilizations = st.floats(min_value=0.05, max_value=1.0)


@given(rates, rates, sizes, utilizations)
def test_more_records_never_need_fewer_shards(r1, r2, size, u):
    lo, hi = sorted((r1, r2))
    assert model.shards_for(lo, size, utilization=u) <= model.shards_for(hi, size, utilization=u)


@given(rates, sizes, sizes)
def test_bigger_records_never_need_fewer_shards(rate, s1, s2):
    lo, hi = sorted((s1, s2))
    assert model.shards_for(rate, lo) <= model.shards_for(rate, hi)


@given(rates, sizes, st.floats(min_value=0.05, max_value=0.99))
def test_a_lower_utilization_target_never_needs_fewer_shards(rate, size, u):
    assert model.shards_for(rate, size, utilization=u) >= model.shards_for(rate, size)


@given(rates, sizes)
def test_shards_carry_the_rate_within_every_limit(rate, size):
    shards = model.shards_for(rate, size)
    assert rate <= shards * 1000 + 1e-6
    assert rate * size <= shards * 1024 * 1024 * (1 + 1e-9)


@given(st.integers(min_value=0, max_value=400 * 1024))
def test_write_units_are_whole_1_kb_steps_covering_the_item(size):
    units = model.write_units(size)
    assert units == max(1, math.ceil(size / 1024))
    assert units * 1024 >= size


@given(st.lists(st.integers(min_value=0, max_value=400 * 1024), min_size=1, max_size=50))
def test_query_rounds_once_so_it_never_costs_more_than_item_by_item(item_sizes):
    once = model.query_read_units(item_sizes)
    each = model.batch_get_read_units(item_sizes)
    assert once <= each
    assert model.query_read_units(item_sizes, consistent=False) == once / 2


@given(st.floats(min_value=0, max_value=1e6), utilizations)
def test_provisioned_units_leave_the_headroom_asked_for(units, u):
    provisioned = model.provisioned_units(units, u)
    assert provisioned >= 1
    assert units <= provisioned * u * (1 + 1e-9)
    assert provisioned - 1 < max(units / u, 1) + 1e-6


@given(rates, rates)
def test_costs_grow_with_the_rate(r1, r2):
    lo, hi = sorted((r1, r2))
    for cost in (
        lambda r: model.kinesis_on_demand_cost(r, 1000, 1, PRICES).total,
        lambda r: model.dynamodb_on_demand_cost(r, r, PRICES).total,
        lambda r: model.api_gateway_cost(r, PRICES).total,
        lambda r: model.lambda_cost(r, 50, 512, "arm64", PRICES).total,
    ):
        assert cost(lo) <= cost(hi) + 1e-9
