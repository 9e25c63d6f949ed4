"""The one PartiQL statement Redline sends: INSERT of a whole item, its values as parameters.

DynamoDB's PartiQL INSERT writes an item only when no item has its primary key yet, and
answers DuplicateItem otherwise: a conditional put. BatchExecuteStatement takes 25 of them in
one call and answers each on its own, so the ingest consumer stores a batch with one call per
25 items instead of one PutItem each, at the same write units (AWS: "Running batch operations
with PartiQL for DynamoDB", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
ql-reference.multiplestatements.batching.html; "PartiQL insert statements",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ql-reference.insert.html).

`insert_statement` builds one; `parse_insert` reads one back into (table, item), for the local
gateway (its engine has no PartiQL) and for unit-test doubles. Only this exact form is read.
"""

from __future__ import annotations

import re
from typing import Any

# BatchExecuteStatement's limit, and its per-statement error codes (API_BatchStatementError).
MAX_STATEMENTS = 25
DUPLICATE_ITEM = "DuplicateItem"
DUPLICATE_ITEM_MESSAGE = "Duplicate primary key exists in table"
THROTTLE_CODES = frozenset(
    {"ProvisionedThroughputExceeded", "ThrottlingError", "RequestLimitExceeded"}
)
TRANSIENT_CODES = frozenset({"InternalServerError", "TransactionConflict"})
VALIDATION_ERROR = "ValidationError"

_INSERT = re.compile(r'INSERT INTO "(?P<table>[A-Za-z0-9_.-]{3,255})" VALUE \{(?P<fields>.*)\}\Z')
_NAME = r"'((?:[^']|'')+)' : \?"
_UNCAPTURED_NAME = r"'(?:[^']|'')+' : \?"
_FIELDS = re.compile(rf"{_UNCAPTURED_NAME}(?:, {_UNCAPTURED_NAME})*")


def insert_statement(table_name: str, item: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """{"Statement": ..., "Parameters": [...]} inserting `item` (wire form) into the table."""
    fields = ", ".join(f"'{name.replace(chr(39), chr(39) * 2)}' : ?" for name in item)
    return {
        "Statement": f'INSERT INTO "{table_name}" VALUE {{{fields}}}',
        "Parameters": list(item.values()),
    }


def parse_insert(statement: Any, parameters: Any) -> tuple[str, dict[str, Any]]:
    """(table, item) of a statement `insert_statement` built; ValueError says what is wrong."""
    match = _INSERT.match(statement) if isinstance(statement, str) else None
    if match is None:
        raise ValueError(
            "only INSERT INTO \"<table>\" VALUE {'<name>' : ?, ...} with parameters is supported"
        )
    fields = match["fields"]
    if fields and _FIELDS.fullmatch(fields) is None:
        raise ValueError(f"cannot read the attributes {fields!r}: expected '<name>' : ?, ...")
    names = [name.replace("''", "'") for name in re.findall(_NAME, fields)]
    if not isinstance(parameters, list) or len(parameters) != len(names):
        count = len(parameters) if isinstance(parameters, list) else 0
        raise ValueError(f"the statement has {len(names)} parameters but {count} were given")
    if len(set(names)) != len(names):
        raise ValueError("an attribute is named twice")
    return match["table"], dict(zip(names, parameters, strict=True))
