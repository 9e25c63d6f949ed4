"""Stored events expire: `expires_at` is the table's TTL attribute (docs/pipeline.md)."""

import pytest

from pipeline.ingest import records


def test_ttl_days_default_and_override():
    assert records.item_ttl_seconds({}) == 30 * 86400
    assert records.item_ttl_seconds({"ITEM_TTL_DAYS": "7"}) == 7 * 86400


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "forever", "3651"])
def test_a_bad_ttl_names_the_variable_and_the_range(value):
    with pytest.raises(ValueError, match=r"ITEM_TTL_DAYS must be a whole number of days 1\.\.3650"):
        records.item_ttl_seconds({"ITEM_TTL_DAYS": value})
