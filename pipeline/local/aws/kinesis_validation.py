"""PutRecord/PutRecords validation as Kinesis does it: the whole request, before any record.

Kinesis validates a request as a whole (every record's partition key, data size and explicit
hash key) and a request that fails writes nothing: there is no per-record validation error
in a PutRecords reply, only throttles and internal failures. The gateway judges every call
here itself, so a call that fails validation never reaches the engine, where it would be
written without passing the shard limits.

Messages follow the AWS JSON protocol's wording ("N validation errors detected: Value ... at
'records.1.member.partitionKey' failed to satisfy constraint: ..."), see
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html and
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecordsRequestEntry.html.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline import aws_limits as L
from pipeline.local.aws.errors import AwsError

HASH_KEY_PATTERN = r"0|([1-9]\d{0,38})"
_HASH_KEY_RE = re.compile(HASH_KEY_PATTERN)
STREAM_NAME_PATTERN = r"[a-zA-Z0-9_.-]+"
_STREAM_NAME_RE = re.compile(STREAM_NAME_PATTERN)
_STREAM_NAME_MAX = 128


def base64_length(text: str) -> int:
    """Decoded length of a base64 string without decoding it."""
    padding = text.count("=", max(0, len(text) - 2))
    return len(text) * 3 // 4 - padding


def _constraint(value: Any, where: str, rule: str) -> str:
    shown = "null" if value is None else value
    return f"Value '{shown}' at '{where}' failed to satisfy constraint: {rule}"


def _record_problems(record: Any, where: str) -> list[str]:
    if not isinstance(record, dict):
        return [_constraint(record, where, "Member must be a structure")]
    problems = []
    key = record.get("PartitionKey")
    if not isinstance(key, str):
        problems.append(_constraint(key, f"{where}.partitionKey", "Member must not be null"))
    elif len(key) < 1:
        problems.append(
            _constraint(
                key, f"{where}.partitionKey", "Member must have length greater than or equal to 1"
            )
        )
    elif len(key) > L.KINESIS_PARTITION_KEY_MAX_CHARS:
        problems.append(
            _constraint(
                key,
                f"{where}.partitionKey",
                "Member must have length less than or equal to "
                f"{L.KINESIS_PARTITION_KEY_MAX_CHARS}",
            )
        )
    data = record.get("Data")
    if not isinstance(data, str):
        problems.append(_constraint(data, f"{where}.data", "Member must not be null"))
    else:
        size = base64_length(data)
        if size > L.KINESIS_DEFAULT_MAX_RECORD_BYTES:
            problems.append(
                _constraint(
                    f"java.nio.HeapByteBuffer[pos=0 lim={size} cap={size}]",
                    f"{where}.data",
                    "Member must have length less than or equal to "
                    f"{L.KINESIS_DEFAULT_MAX_RECORD_BYTES}",
                )
            )
    explicit = record.get("ExplicitHashKey")
    if explicit is not None and (
        not isinstance(explicit, str) or not _HASH_KEY_RE.fullmatch(explicit)
    ):
        problems.append(
            _constraint(
                explicit,
                f"{where}.explicitHashKey",
                f"Member must satisfy regular expression pattern: {HASH_KEY_PATTERN}",
            )
        )
    return problems


def _stream_problems(name: Any) -> list[str]:
    if name is None:
        return []  # StreamARN given instead (the caller names the stream)
    if not isinstance(name, str) or not 1 <= len(name) <= _STREAM_NAME_MAX:
        return [
            _constraint(
                name,
                "streamName",
                f"Member must have length less than or equal to {_STREAM_NAME_MAX}",
            )
        ]
    if not _STREAM_NAME_RE.fullmatch(name):
        return [
            _constraint(
                name,
                "streamName",
                f"Member must satisfy regular expression pattern: {STREAM_NAME_PATTERN}",
            )
        ]
    return []


def _raise_if(problems: list[str]) -> None:
    if not problems:
        return
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    raise AwsError(
        "ValidationException", f"{count} validation {noun} detected: " + "; ".join(problems)
    )


def _check_hash_key_range(record: dict[str, Any]) -> None:
    explicit = record.get("ExplicitHashKey")
    if explicit is not None and int(explicit) >= L.KINESIS_HASH_KEY_SPACE:
        raise AwsError(
            "InvalidArgumentException",
            "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: "
            f"[0, 2^128-1]. Specified value was {explicit}",
        )


def validate_put_records(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of a valid PutRecords request; AwsError naming every problem otherwise."""
    problems = _stream_problems(request.get("StreamName"))
    records = request.get("Records")
    if not isinstance(records, list):
        problems.append(_constraint(None, "records", "Member must not be null"))
        _raise_if(problems)
    assert isinstance(records, list)
    if not records:
        problems.append(
            _constraint("[]", "records", "Member must have length greater than or equal to 1")
        )
    elif len(records) > L.KINESIS_PUT_RECORDS_MAX_RECORDS:
        problems.append(
            _constraint(
                f"[{len(records)} records]",
                "records",
                "Member must have length less than or equal to "
                f"{L.KINESIS_PUT_RECORDS_MAX_RECORDS}",
            )
        )
    for position, record in enumerate(records, start=1):
        problems += _record_problems(record, f"records.{position}.member")
    _raise_if(problems)
    for record in records:
        _check_hash_key_range(record)
    return records


def validate_put_record(request: dict[str, Any]) -> dict[str, Any]:
    """The request of a valid PutRecord call; AwsError naming every problem otherwise."""
    problems = _stream_problems(request.get("StreamName"))
    problems += [p.replace("'record.", "'", 1) for p in _record_problems(request, "record")]
    _raise_if(problems)
    _check_hash_key_range(request)
    return request
