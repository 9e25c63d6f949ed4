"""Valid events -> DynamoDB as conditional writes, 25 a call, retried within the time budget.

Each event is written only if no item has its event_id yet (docs/pipeline.md "Duplicates"):
the items go out as PartiQL INSERT statements, 25 to a BatchExecuteStatement call, each
answered on its own. An INSERT refused as DuplicateItem is put again with the condition "no
item with this event_id yet, or one with the same content hash": a redelivered identical event
is written again harmlessly, a different event under a stored event_id is refused
(ConditionalCheckFailedException) and reported as a conflict, never written over the first.
Each statement costs the same write units as a PutItem of its item; BatchWriteItem cannot
carry a condition. The calls run in parallel on a small thread pool.

botocore's standard retry mode (see `pipeline.clients`) retries a throttled call. Statements
throttled on their own (ProvisionedThroughputExceeded, ...) and calls that still fail after
botocore's attempts are retried here in rounds with exponential backoff and full jitter until
the budget runs out. A call refused as a whole for a reason retrying cannot fix (say, a role
without dynamodb:PartiQLInsert) falls back to one conditional PutItem an item, so each item
gets its own answer.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from pipeline.ingest.budget import TimeBudget
from pipeline.ingest.records import CONTENT_HASH_ATTRIBUTE
from pipeline.partiql_insert import (
    DUPLICATE_ITEM,
    MAX_STATEMENTS,
    THROTTLE_CODES,
    TRANSIENT_CODES,
    VALIDATION_ERROR,
    insert_statement,
)

logger = logging.getLogger(__name__)

# Errors worth another round: capacity (throttling) and transient service trouble.
RETRYABLE_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
    }
)
VALIDATION_ERROR_CODE = "ValidationException"
CONFLICT_ERROR_CODE = "ConditionalCheckFailedException"
# Calls in flight at once: botocore's default connection pool (max_pool_connections) is 10,
# so more threads would only queue for a connection.
WRITE_THREADS = 10
# Stored once; taken again only as the same event (see the module docstring).
WRITE_CONDITION = (
    f"attribute_not_exists(event_id) OR {CONTENT_HASH_ATTRIBUTE} = :{CONTENT_HASH_ATTRIBUTE}"
)
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 5.0
MAX_WRITE_ROUNDS = 50


@dataclass(slots=True)
class WriteResult:
    stored_at: dict[str, float] = field(default_factory=dict)  # event_id -> stored_at
    unwritten: set[str] = field(default_factory=set)
    # event_id -> DynamoDB's reason, for items it refused on their own (ValidationException).
    refused: dict[str, str] = field(default_factory=dict)
    # event_ids already stored with other content (the condition failed): not written.
    conflicts: set[str] = field(default_factory=set)
    retries: int = 0


@dataclass(slots=True)
class Backoff:
    """Exponential backoff with full jitter: sleep uniform(0, min(cap, base * 2**round))."""

    base_s: float = BACKOFF_BASE_S
    cap_s: float = BACKOFF_CAP_S
    sleep: Callable[[float], None] = time.sleep
    uniform: Callable[[float, float], float] = random.uniform

    def wait(self, round_number: int, budget: TimeBudget) -> bool:
        """Sleep before the next round; False when the budget cannot take another round."""
        delay = self.uniform(0, min(self.cap_s, self.base_s * 2**round_number))
        if delay >= budget.left():
            return False
        self.sleep(delay)
        return True


def write_items(
    dynamodb: Any,
    table_name: str,
    items: dict[str, dict[str, dict[str, Any]]],
    budget: TimeBudget,
    backoff: Backoff,
    clock: Callable[[], float] = time.time,
) -> WriteResult:
    """Put every item (event_id -> wire-form item, unique keys); say which were stored."""
    result = WriteResult()
    pending = list(items)
    rounds = 0

    round_stored_at = 0.0

    def write(chunk: list[str]) -> list[_PutOutcome]:
        if budget.expired():
            return [_PutOutcome(_Status.RETRY, started=False) for _ in chunk]
        return _insert_chunk(dynamodb, table_name, [items[i] for i in chunk], round_stored_at)

    with ThreadPoolExecutor(max_workers=WRITE_THREADS, thread_name_prefix="put") as pool:
        while pending and rounds < MAX_WRITE_ROUNDS:
            if rounds and not backoff.wait(rounds, budget):
                break
            rounds += 1
            # One stored_at for a round's items, as a BatchWriteItem chunk's items share one:
            # the pool finishes them in any order, and store order is what the round wrote.
            round_stored_at = clock()
            chunks = [
                pending[start : start + MAX_STATEMENTS]
                for start in range(0, len(pending), MAX_STATEMENTS)
            ]
            outcomes = [outcome for answers in pool.map(write, chunks) for outcome in answers]
            returned: list[str] = []
            for event_id, outcome in zip(pending, outcomes, strict=True):
                result.retries += outcome.botocore_retries + int(rounds > 1 and outcome.started)
                if outcome.status is _Status.STORED:
                    result.stored_at[event_id] = outcome.stored_at
                elif outcome.status is _Status.RETRY:
                    returned.append(event_id)
                elif outcome.status is _Status.CONFLICT:
                    result.conflicts.add(event_id)
                elif outcome.status is _Status.REFUSED:
                    result.refused[event_id] = outcome.message
                else:
                    result.unwritten.add(event_id)
            pending = returned
    result.unwritten.update(pending)
    if pending:
        logger.warning(
            "%d of %d items unwritten after %d rounds (%d retries); Kinesis will redeliver them",
            len(pending),
            len(items),
            rounds,
            result.retries,
        )
    return result


class _Status(Enum):
    STORED = "stored"
    RETRY = "retry"  # throttled, unreachable or not started: another round
    CONFLICT = "conflict"  # the condition failed: another event holds this event_id
    REFUSED = "refused"  # ValidationException: DynamoDB will never take this item
    FAILED = "failed"  # an error retrying here cannot fix: Kinesis redelivers


@dataclass(slots=True)
class _PutOutcome:
    status: _Status
    stored_at: float = 0.0
    message: str = ""
    botocore_retries: int = 0
    started: bool = True


def _insert_chunk(
    dynamodb: Any,
    table_name: str,
    items: list[dict[str, dict[str, Any]]],
    stored_at: float,
) -> list[_PutOutcome]:
    """Up to 25 items as INSERT statements in one BatchExecuteStatement (on a pool thread)."""
    for item in items:
        item["stored_at"] = {"N": repr(stored_at)}
    try:
        response = dynamodb.batch_execute_statement(
            Statements=[insert_statement(table_name, item) for item in items]
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in RETRYABLE_ERROR_CODES:
            retries = _botocore_retries(exc.response)
            return _all(_Status.RETRY, len(items), retries)
        logger.warning(
            "BatchExecuteStatement refused (%s): putting its %d items one by one", code, len(items)
        )
        return [_put_item(dynamodb, table_name, item, stored_at) for item in items]
    except ParamValidationError as exc:  # botocore refuses the call: let each item say why
        logger.warning("BatchExecuteStatement request invalid (%s): one by one", exc)
        return [_put_item(dynamodb, table_name, item, stored_at) for item in items]
    except BotoCoreError as exc:  # connection errors and timeouts, already retried by botocore
        logger.warning("BatchExecuteStatement did not complete: %s", exc)
        return _all(_Status.RETRY, len(items), 0)
    answers = response.get("Responses", [])
    if len(answers) != len(items):
        logger.error("BatchExecuteStatement answered %d of %d statements", len(answers), len(items))
        return _all(_Status.FAILED, len(items), 0)
    outcomes = [
        _statement_outcome(dynamodb, table_name, item, stored_at, answer.get("Error"))
        for item, answer in zip(items, answers, strict=True)
    ]
    outcomes[0].botocore_retries += _botocore_retries(response)  # the call's, counted once
    return outcomes


def _all(status: _Status, count: int, botocore_retries: int) -> list[_PutOutcome]:
    return [
        _PutOutcome(status, botocore_retries=botocore_retries if i == 0 else 0)
        for i in range(count)
    ]


def _statement_outcome(
    dynamodb: Any,
    table_name: str,
    item: dict[str, dict[str, Any]],
    stored_at: float,
    error: dict[str, str] | None,
) -> _PutOutcome:
    if not error:
        return _PutOutcome(_Status.STORED, stored_at=stored_at)
    code = error.get("Code", "")
    if code == DUPLICATE_ITEM:  # stored before: the same event again, or a conflict
        return _put_item(dynamodb, table_name, item, stored_at)
    if code in THROTTLE_CODES or code in TRANSIENT_CODES:
        return _PutOutcome(_Status.RETRY)
    if code == VALIDATION_ERROR:
        return _PutOutcome(_Status.REFUSED, message=error.get("Message", code))
    logger.error("INSERT failed: %s %s", code, error.get("Message", ""))
    return _PutOutcome(_Status.FAILED)


def _put_item(
    dynamodb: Any,
    table_name: str,
    item: dict[str, dict[str, Any]],
    stored_at: float,
) -> _PutOutcome:
    """One conditional PutItem (runs on a pool thread: touches nothing shared but `item`)."""
    try:
        response = dynamodb.put_item(
            TableName=table_name,
            Item=item,
            ConditionExpression=WRITE_CONDITION,
            ExpressionAttributeValues={f":{CONTENT_HASH_ATTRIBUTE}": item[CONTENT_HASH_ATTRIBUTE]},
        )
    except ClientError as exc:
        retries = _botocore_retries(exc.response)
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        if code == CONFLICT_ERROR_CODE:
            return _PutOutcome(_Status.CONFLICT, botocore_retries=retries)
        if code in RETRYABLE_ERROR_CODES:
            return _PutOutcome(_Status.RETRY, botocore_retries=retries)
        if code == VALIDATION_ERROR_CODE:
            message = error.get("Message", code)
            return _PutOutcome(_Status.REFUSED, message=message, botocore_retries=retries)
        # Not retryable here (missing table, access denied): report the record as failed so
        # Kinesis redelivers it; the ESM's bisect/retry settings take it from there.
        logger.error("PutItem failed: %s", exc)
        return _PutOutcome(_Status.FAILED, botocore_retries=retries)
    except ParamValidationError as exc:  # a request botocore refuses to send: a bug, not load
        logger.error("PutItem request invalid: %s", exc)
        return _PutOutcome(_Status.FAILED)
    except BotoCoreError as exc:  # connection errors and timeouts, already retried by botocore
        logger.warning("PutItem did not complete: %s", exc)
        return _PutOutcome(_Status.RETRY)
    return _PutOutcome(
        _Status.STORED, stored_at=stored_at, botocore_retries=_botocore_retries(response)
    )


def _botocore_retries(response: dict[str, Any]) -> int:
    return int(response.get("ResponseMetadata", {}).get("RetryAttempts", 0))
