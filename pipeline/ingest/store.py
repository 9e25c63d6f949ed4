"""Valid events -> DynamoDB with BatchWriteItem, retried within the invocation's time budget.

botocore's standard retry mode (see `pipeline.clients`) retries a call that failed as a whole
(ProvisionedThroughputExceededException, ThrottlingException, ...). Items that come back in
UnprocessedItems, and calls that still fail after botocore's attempts, are retried here in
rounds with exponential backoff and full jitter until the budget runs out. Writes are plain
puts keyed by event_id, so repeating one is harmless.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from pipeline import aws_limits as limits
from pipeline.ingest.budget import TimeBudget

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
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 5.0
MAX_WRITE_ROUNDS = 50


@dataclass(slots=True)
class WriteResult:
    stored_at: dict[str, float] = field(default_factory=dict)  # event_id -> stored_at
    unwritten: set[str] = field(default_factory=set)
    # event_id -> DynamoDB's reason, for items it refused on their own (ValidationException).
    refused: dict[str, str] = field(default_factory=dict)
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
    while pending and rounds < MAX_WRITE_ROUNDS:
        if rounds and not backoff.wait(rounds, budget):
            break
        rounds += 1
        returned: list[str] = []
        for start in range(0, len(pending), limits.DYNAMODB_BATCH_WRITE_MAX_ITEMS):
            chunk = pending[start : start + limits.DYNAMODB_BATCH_WRITE_MAX_ITEMS]
            if budget.expired():
                returned.extend(pending[start:])
                break
            if rounds > 1:
                result.retries += 1
            returned.extend(_write_chunk(dynamodb, table_name, items, chunk, result, clock))
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


def _write_chunk(
    dynamodb: Any,
    table_name: str,
    items: dict[str, dict[str, dict[str, Any]]],
    chunk: list[str],
    result: WriteResult,
    clock: Callable[[], float],
) -> list[str]:
    """One BatchWriteItem call; returns the event_ids to try again."""
    stored_at = clock()
    stored_at_value = {"N": repr(stored_at)}
    requests = []
    for event_id in chunk:
        item = items[event_id]
        item["stored_at"] = stored_at_value
        requests.append({"PutRequest": {"Item": item}})
    try:
        response = dynamodb.batch_write_item(RequestItems={table_name: requests})
    except ClientError as exc:
        result.retries += _botocore_retries(exc.response)
        code = exc.response.get("Error", {}).get("Code", "")
        if code in RETRYABLE_ERROR_CODES:
            return chunk
        if code == VALIDATION_ERROR_CODE:
            # One bad item fails the whole call: write the chunk item by item so that only the
            # item DynamoDB refuses is set aside (and dead-lettered), not its chunk-mates.
            if len(chunk) == 1:
                result.refused[chunk[0]] = exc.response.get("Error", {}).get("Message", code)
                return []
            returned = []
            for event_id in chunk:
                returned.extend(
                    _write_chunk(dynamodb, table_name, items, [event_id], result, clock)
                )
            return returned
        # Not retryable here (missing table, access denied, a bad item): report the records as
        # failed so Kinesis redelivers them; the ESM's bisect/retry settings take it from there.
        logger.error("BatchWriteItem failed for %d items: %s", len(chunk), exc)
        result.unwritten.update(chunk)
        return []
    except ParamValidationError as exc:  # a request botocore refuses to send: a bug, not load
        logger.error("BatchWriteItem request invalid for %d items: %s", len(chunk), exc)
        result.unwritten.update(chunk)
        return []
    except BotoCoreError as exc:  # connection errors and timeouts, already retried by botocore
        logger.warning("BatchWriteItem did not complete for %d items: %s", len(chunk), exc)
        return chunk
    result.retries += _botocore_retries(response)
    unprocessed = response.get("UnprocessedItems", {}).get(table_name, [])
    returned = [request["PutRequest"]["Item"]["event_id"]["S"] for request in unprocessed]
    returned_set = set(returned)
    for event_id in chunk:
        if event_id not in returned_set:
            result.stored_at[event_id] = stored_at
    return returned


def _botocore_retries(response: dict[str, Any]) -> int:
    return int(response.get("ResponseMetadata", {}).get("RetryAttempts", 0))
