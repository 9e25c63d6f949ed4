"""Whether a number's text is one DynamoDB takes: the handlers check it before DynamoDB does,
and the local gateway refuses what DynamoDB refuses (limits in `pipeline.aws_limits`)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from pipeline import aws_limits as limits

# DynamoDB's number text: no underscores, spaces, NaN or Infinity (Python's Decimal takes those).
_NUMBER_TEXT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
# Past this many characters no valid number remains (38 digits, a point, sign and exponent).
_MAX_TEXT_CHARS = 200

DIGITS_PROBLEM = "Attempting to store more than 38 significant digits in a Number"
OVERFLOW_PROBLEM = (
    "Number overflow. Attempting to store a number with magnitude larger than supported range"
)
UNDERFLOW_PROBLEM = (
    "Number underflow. Attempting to store a number with magnitude smaller than supported range"
)
NOT_A_NUMBER_PROBLEM = "not a number"


def number_problem(text: str) -> str | None:
    """None when DynamoDB stores `text` as a number, else why it refuses it."""
    if len(text) > _MAX_TEXT_CHARS or not _NUMBER_TEXT.match(text):
        return NOT_A_NUMBER_PROBLEM
    try:
        number = Decimal(text)
    except InvalidOperation:
        return NOT_A_NUMBER_PROBLEM
    if number.is_zero():
        return None
    digits = "".join(map(str, number.as_tuple().digits)).strip("0")
    if len(digits) > limits.DYNAMODB_NUMBER_MAX_DIGITS:
        return DIGITS_PROBLEM
    if number.adjusted() > limits.DYNAMODB_NUMBER_MAX_EXPONENT:
        return OVERFLOW_PROBLEM
    if number.adjusted() < limits.DYNAMODB_NUMBER_MIN_EXPONENT:
        return UNDERFLOW_PROBLEM
    return None
