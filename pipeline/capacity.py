"""AWS's capacity arithmetic as pure functions: the local gateway enforces with them and
the capacity model sizes with them (docs/aws-limits.md states the rules and their AWS sources)."""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from pipeline import aws_limits as limits

# ---------------------------------------------------------------- DynamoDB item size


def _number_size(text: str) -> int:
    """ceil(significant digits / 2) + 1, as DynamoDB stores numbers."""
    digits = text.lstrip("-").replace(".", "")
    mantissa, _, _exponent = digits.lower().partition("e")
    significant = mantissa.strip("0") or "0"
    return math.ceil(len(significant) / 2) + 1


def attribute_value_size(value: Mapping[str, Any]) -> int:
    """Size of one attribute value in DynamoDB's wire form ({"S": "..."}, {"N": "1"}, ...)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        return _number_size(str(inner))
    if kind == "B":
        return len(inner) if isinstance(inner, bytes | bytearray) else len(base64.b64decode(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in inner)
    if kind == "NS":
        return sum(_number_size(str(n)) for n in inner)
    if kind == "BS":
        return sum(
            len(b) if isinstance(b, bytes | bytearray) else len(base64.b64decode(b)) for b in inner
        )
    if kind == "L":
        return 3 + sum(attribute_value_size(v) + 1 for v in inner)
    if kind == "M":
        return 3 + sum(
            len(k.encode("utf-8")) + attribute_value_size(v) + 1 for k, v in inner.items()
        )
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes of an item: attribute name lengths plus value sizes."""
    return sum(len(name.encode("utf-8")) + attribute_value_size(v) for name, v in item.items())


def plain_item_size(item: Mapping[str, Any]) -> int:
    """Item size of a plain Python dict (as the boto3 resource layer takes it)."""
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    converted = {k: _to_decimal(v) for k, v in item.items()}
    return item_size({k: serializer.serialize(v) for k, v in converted.items()})


def _to_decimal(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_decimal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_decimal(v) for v in value]
    return value


# ---------------------------------------------------------------- DynamoDB capacity units


def write_units(size_bytes: int, transactional: bool = False) -> int:
    """WCU of one write: size rounded up to 1 KB (a 0-byte write still costs 1)."""
    units = max(1, math.ceil(size_bytes / limits.DYNAMODB_WRITE_UNIT_BYTES))
    return units * (2 if transactional else 1)


def read_units(size_bytes: int, consistent: bool = True, transactional: bool = False) -> float:
    """RCU of one item read: size rounded up to 4 KB; eventual halves, transactional doubles."""
    units = max(1, math.ceil(size_bytes / limits.DYNAMODB_READ_UNIT_BYTES))
    if transactional:
        return units * 2.0
    return float(units) if consistent else units / 2


def query_read_units(item_sizes: Iterable[int], consistent: bool = True) -> float:
    """A Query sums the sizes of all items read and rounds up once to 4 KB."""
    return read_units(sum(item_sizes), consistent=consistent)


def batch_get_read_units(item_sizes: Iterable[int], consistent: bool = True) -> float:
    """BatchGetItem rounds each item up to 4 KB separately."""
    return sum(read_units(size, consistent=consistent) for size in item_sizes)


# ---------------------------------------------------------------- Kinesis


def partition_key_hash(partition_key: str) -> int:
    """MD5 of the partition key as an unsigned 128-bit big-endian integer."""
    return int.from_bytes(
        hashlib.md5(partition_key.encode("utf-8"), usedforsecurity=False).digest(), "big"
    )


def even_hash_ranges(shard_count: int) -> list[tuple[int, int]]:
    """Inclusive [start, end] hash ranges of N new shards splitting 0..2^128-1 evenly."""
    space = limits.KINESIS_HASH_KEY_SPACE
    step = space // shard_count
    ranges = []
    for i in range(shard_count):
        start = i * step
        end = space - 1 if i == shard_count - 1 else (i + 1) * step - 1
        ranges.append((start, end))
    return ranges


def kinesis_record_bytes(data_bytes: int, partition_key: str) -> int:
    """Bytes a record counts against the shard's write limit: data plus partition key."""
    return data_bytes + len(partition_key.encode("utf-8"))


def put_record_billed_bytes(data_bytes: int, partition_key: str) -> int:
    """PutRecord rounds each record up to 1 KiB; PutRecords counts the exact sum."""
    exact = kinesis_record_bytes(data_bytes, partition_key)
    unit = limits.KINESIS_PUT_RECORD_ROUNDING_BYTES
    return max(unit, math.ceil(exact / unit) * unit)


def put_payload_units(record_bytes: int) -> int:
    """Provisioned-mode billing: each record counts ceil(size / 25 KB) PUT payload units."""
    return max(1, math.ceil(record_bytes / limits.KINESIS_PUT_PAYLOAD_UNIT_BYTES))


def shards_needed(records_per_s: float, record_bytes: float, polling_consumers: int = 1) -> int:
    """Shards for a write rate: max of the record, write-byte and read-byte ceilings."""
    kib_per_s = records_per_s * record_bytes / limits.KIB
    return max(
        1,
        math.ceil(records_per_s / limits.KINESIS_SHARD_WRITE_RECORDS_PER_S),
        math.ceil(kib_per_s / (limits.KINESIS_SHARD_WRITE_BYTES_PER_S / limits.KIB)),
        math.ceil(
            kib_per_s * polling_consumers / (limits.KINESIS_SHARD_READ_BYTES_PER_S / limits.KIB)
        ),
    )
