"""REDLINE_FAULT_UNAVAILABLE_S: the gateway answers 503 to Kinesis and DynamoDB calls for that
many seconds, starting REDLINE_FAULT_UNAVAILABLE_AFTER_S after the first PutRecords."""

from __future__ import annotations

import pytest

from pipeline.local.aws.faults import (
    UNAVAILABLE_AFTER_VARIABLE,
    UNAVAILABLE_VARIABLE,
    UnavailableFault,
)

PUT = "Kinesis_20131202.PutRecords"
GET = "Kinesis_20131202.GetRecords"
WRITE = "DynamoDB_20120810.BatchWriteItem"


class Clock:
    at = 100.0

    def __call__(self) -> float:
        return self.at


def test_the_outage_starts_after_the_first_put_and_the_delay_and_lasts_its_seconds():
    clock = Clock()
    fault = UnavailableFault({UNAVAILABLE_VARIABLE: "10", UNAVAILABLE_AFTER_VARIABLE: "15"}, clock)
    assert not fault.unavailable("Kinesis_20131202.CreateStream")  # provisioning goes through
    assert not fault.unavailable(GET)
    assert not fault.unavailable(PUT)  # the first PutRecords starts the count
    clock.at += 14.9
    assert not fault.unavailable(WRITE)
    clock.at += 0.2
    assert fault.unavailable(PUT) and fault.unavailable(GET) and fault.unavailable(WRITE)
    assert not fault.unavailable("AmazonSQS.SendMessage")  # only the engines' services
    clock.at += 10
    assert not fault.unavailable(PUT) and not fault.unavailable(WRITE)


def test_off_by_default():
    assert not UnavailableFault({}).unavailable(PUT)


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        ("soon", "a number of seconds"),
        ("-1", "a number of seconds, 0 or more"),
        ("inf", "a number of seconds, 0 or more"),
    ],
)
def test_a_bad_value_names_the_variable(value, allowed):
    with pytest.raises(ValueError) as caught:
        UnavailableFault({UNAVAILABLE_VARIABLE: value})
    assert str(caught.value) == f"{UNAVAILABLE_VARIABLE} must be {allowed}, got {value!r}"
