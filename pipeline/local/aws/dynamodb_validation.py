"""The item checks DynamoDB makes and dynalite does not: the gateway refuses such writes first.

dynalite takes empty map keys, documents nested past 32 levels, numbers past 38 significant
digits or outside DynamoDB's range, and items over 400 KB once attribute names are counted;
DynamoDB refuses each with a ValidationException, and in BatchWriteItem the whole call fails
(no item is written). Limits come from `pipeline.aws_limits` (sources cited there).
"""

from __future__ import annotations

from typing import Any

from pipeline import aws_limits as limits
from pipeline import capacity
from pipeline.dynamodb_numbers import NOT_A_NUMBER_PROBLEM, number_problem
from pipeline.local.aws.errors import AwsError, validation

_INVALID = "One or more parameter values were invalid: "
NESTING_MESSAGE = "Nesting Levels have exceeded supported limits"
ITEM_SIZE_MESSAGE = "Item size has exceeded the maximum allowed size"


def write_refusal(operation: str, request: dict[str, Any]) -> AwsError | None:
    """The ValidationException DynamoDB would answer for this write, or None."""
    for item in _items_written(operation, request):
        refusal = item_refusal(item)
        if refusal is not None:
            return refusal
    return None


def _items_written(operation: str, request: dict[str, Any]) -> list[dict[str, Any]]:
    if operation == "PutItem" and isinstance(request.get("Item"), dict):
        return [request["Item"]]
    if operation == "BatchWriteItem" and isinstance(request.get("RequestItems"), dict):
        return [
            entry["PutRequest"]["Item"]
            for entries in request["RequestItems"].values()
            if isinstance(entries, list)
            for entry in entries
            if isinstance(entry, dict)
            and isinstance(entry.get("PutRequest"), dict)
            and isinstance(entry["PutRequest"].get("Item"), dict)
        ]
    return []


def item_refusal(item: dict[str, Any]) -> AwsError | None:
    try:
        for name, value in item.items():
            _check_name(name)
            _check_value(value, 1)
        size = capacity.item_size(item)
    except AwsError as refusal:
        return refusal
    except (ValueError, TypeError, AttributeError):
        return None  # malformed wire form: the engine answers with its own message
    if size > limits.DYNAMODB_MAX_ITEM_BYTES:
        return validation(ITEM_SIZE_MESSAGE)
    return None


def _check_name(name: str) -> None:
    size = len(name.encode("utf-8", "surrogatepass"))
    if size < limits.DYNAMODB_ATTRIBUTE_NAME_MIN_BYTES:
        raise validation(_INVALID + "Empty attribute name (map keys included)")
    if size > limits.DYNAMODB_ATTRIBUTE_NAME_MAX_BYTES:
        raise validation(
            _INVALID + f"Attribute name of {size} bytes exceeds the maximum of "
            f"{limits.DYNAMODB_ATTRIBUTE_NAME_MAX_BYTES} bytes"
        )


def _check_value(value: Any, depth: int) -> None:
    if not isinstance(value, dict) or len(value) != 1:
        return
    ((kind, inner),) = value.items()
    if kind == "N":
        _check_number(inner)
    elif kind == "NS" and isinstance(inner, list):
        for number in inner:
            _check_number(number)
    elif kind in ("M", "L"):
        if depth > limits.DYNAMODB_MAX_NESTING_DEPTH:
            raise validation(NESTING_MESSAGE)
        if kind == "M" and isinstance(inner, dict):
            for name, element in inner.items():
                _check_name(name)
                _check_value(element, depth + 1)
        elif kind == "L" and isinstance(inner, list):
            for element in inner:
                _check_value(element, depth + 1)


def _check_number(text: Any) -> None:
    problem = number_problem(str(text))
    if problem is not None and problem != NOT_A_NUMBER_PROBLEM:
        raise validation(problem)  # not a number at all: the engine's own message says so
