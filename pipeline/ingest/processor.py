"""Powertools' Kinesis BatchProcessor with a store phase.

The record handler (`records.classify_record`) decides per record: store it or dead-letter
it. `IngestProcessor.process` then does the I/O for the whole batch at once (SendMessageBatch
for the rejected, conditional PutItem calls in parallel for the accepted) and reports every
record that was neither stored nor dead-lettered as a batch item failure, so Kinesis
redelivers it. A record whose event_id is already stored (or came earlier in the batch) with
other content is dead-lettered as a conflict; the first event is kept.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import (
    KinesisStreamRecord,
)

from pipeline import metrics as names
from pipeline.ingest.budget import TimeBudget
from pipeline.ingest.dead_letter import DeadLetter, dead_letter, send_dead_letters
from pipeline.ingest.records import (
    CONTENT_HASH_ATTRIBUTE,
    Accepted,
    DeadLetterReason,
    Rejected,
)
from pipeline.ingest.store import Backoff, write_items

logger = logging.getLogger(__name__)

# Kept back from the invocation's remaining time: one more call and the response must fit.
DEFAULT_SAFETY_MARGIN_S = 3.0
# Budget when no Lambda context is given (direct calls from scripts).
DEFAULT_BUDGET_S = 30.0


class RecordNotStoredError(Exception):
    """Why a record is reported in batchItemFailures (kept in processor.exceptions)."""


class IngestProcessor(BatchProcessor):
    def __init__(
        self,
        *,
        table_name: str,
        dlq_url: str,
        dynamodb: Any,
        sqs: Any,
        metrics: Metrics,
        safety_margin_s: float = DEFAULT_SAFETY_MARGIN_S,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        # Every record failing is still a partial response: the failures name the sequence
        # numbers, and Kinesis restarts from the lowest one.
        # Given a logger, Powertools logs a record handler's exception (a bug: bad input is
        # classified, not raised) with its traceback; records we fail ourselves carry none.
        super().__init__(
            EventType.KinesisDataStreams, raise_on_entire_batch_failure=False, logger=logger
        )
        self.table_name = table_name
        self.dlq_url = dlq_url
        self.dynamodb = dynamodb
        self.sqs = sqs
        self.metrics = metrics
        self.safety_margin_s = safety_margin_s
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.monotonic = monotonic

    def process(self) -> list[tuple]:
        outcomes = super().process()
        self._store(outcomes)
        return outcomes

    def _remaining_s(self) -> float:
        context = getattr(self, "lambda_context", None)
        if context is None:
            return DEFAULT_BUDGET_S
        return context.get_remaining_time_in_millis() / 1000

    def _store(self, outcomes: list[tuple]) -> None:
        budget = TimeBudget(self._remaining_s(), self.safety_margin_s, self.monotonic)
        accepted: dict[str, Accepted] = {}
        positions_by_id: dict[str, list[int]] = {}
        letters: list[DeadLetter] = []
        for position, (status, result, record) in enumerate(outcomes):
            if status != "success":
                continue  # the record handler raised: already a batch item failure
            if isinstance(result, Accepted):
                first = accepted.get(result.event_id)
                if first is None:
                    accepted[result.event_id] = result
                    positions_by_id[result.event_id] = [position]
                elif _content_hash(first) == _content_hash(result):
                    # The same event twice in one batch: one write, both share its fate.
                    positions_by_id[result.event_id].append(position)
                else:
                    first_record = outcomes[positions_by_id[result.event_id][0]][2]
                    rejected = _conflict(
                        result.event_id,
                        "an earlier record of this batch (sequence number "
                        f"{first_record['kinesis']['sequenceNumber']}) has it with other content",
                    )
                    letters.append(dead_letter(position, KinesisStreamRecord(record), rejected))
            elif isinstance(result, Rejected):
                letters.append(dead_letter(position, KinesisStreamRecord(record), result))
            else:
                raise TypeError(f"record handler returned {type(result).__name__}")

        dead_lettered = send_dead_letters(self.sqs, self.dlq_url, letters, budget)
        written = write_items(
            self.dynamodb,
            self.table_name,
            {event_id: event.item for event_id, event in accepted.items()},
            budget,
            self.backoff,
            self.clock,
        )

        refusals = {
            event_id: Rejected(DeadLetterReason.DYNAMODB_REFUSED, f"DynamoDB: {reason}", event_id)
            for event_id, reason in written.refused.items()
        }
        for event_id in written.conflicts:
            refusals[event_id] = _conflict(
                event_id, "an event with other content is already stored under it"
            )
        refused_letters = [
            dead_letter(position, KinesisStreamRecord(outcomes[position][2]), rejected)
            for event_id, rejected in refusals.items()
            for position in positions_by_id[event_id]
        ]
        if refused_letters:
            dead_lettered |= send_dead_letters(self.sqs, self.dlq_url, refused_letters, budget)
            letters.extend(refused_letters)

        not_stored: dict[int, str] = {}
        for letter in letters:
            if letter.key not in dead_lettered:
                not_stored[letter.key] = f"dead-letter queue did not take it ({letter.reason})"
        for event_id in written.unwritten:
            for position in positions_by_id[event_id]:
                not_stored[position] = "not written to the table within the time budget"
        self._report_not_stored(outcomes, not_stored)

        stored_records = sum(len(positions_by_id[event_id]) for event_id in written.stored_at)
        self._emit(accepted, written.stored_at, stored_records, len(dead_lettered), written.retries)
        self._log_summary(letters, dead_lettered, stored_records, written.retries)

    def _report_not_stored(self, outcomes: list[tuple], not_stored: dict[int, str]) -> None:
        if not not_stored:
            return
        failed_records = {id(outcomes[position][2]) for position in not_stored}
        self.success_messages = [r for r in self.success_messages if id(r) not in failed_records]
        for position in sorted(not_stored):
            error = RecordNotStoredError(not_stored[position])
            record = KinesisStreamRecord(outcomes[position][2])
            self.failure_handler(record, (RecordNotStoredError, error, None))

    def _emit(
        self,
        accepted: dict[str, Accepted],
        stored_at: dict[str, float],
        stored_records: int,
        dead_lettered: int,
        retries: int,
    ) -> None:
        add = self.metrics.add_metric
        latency = names.END_TO_END_LATENCY
        for event_id, stored in stored_at.items():
            add(latency.name, latency.unit, (stored - accepted[event_id].produced_at) * 1000)
        add(names.RECORDS_STORED.name, names.RECORDS_STORED.unit, stored_records)
        add(names.RECORDS_DEAD_LETTERED.name, names.RECORDS_DEAD_LETTERED.unit, dead_lettered)
        add(names.RECORDS_FAILED.name, names.RECORDS_FAILED.unit, len(self.fail_messages))
        add(names.WRITE_RETRIES.name, names.WRITE_RETRIES.unit, retries)

    def _log_summary(
        self,
        letters: list[DeadLetter],
        dead_lettered: set[int],
        stored_records: int,
        retries: int,
    ) -> None:
        summary = {
            "records": len(self.records),
            "stored": stored_records,
            "dead_lettered": len(dead_lettered),
            "failed": len(self.fail_messages),
            "write_retries": retries,
        }
        if not letters and not self.fail_messages:
            logger.debug("batch stored", extra=summary)
            return
        reasons = Counter(letter.reason for letter in letters)
        failed = [
            record.kinesis.sequence_number
            for record in self.fail_messages[:5]
            if isinstance(record, KinesisStreamRecord)
        ]
        logger.warning(
            "batch had records it could not store",
            extra={**summary, "dead_letter_reasons": dict(reasons), "first_failed": failed},
        )


def _content_hash(event: Accepted) -> str:
    return event.item[CONTENT_HASH_ATTRIBUTE]["S"]


def _conflict(event_id: str, why: str) -> Rejected:
    return Rejected(
        DeadLetterReason.CONFLICT,
        f"event_id {event_id!r} conflict: {why}; the first event is kept, this record is not "
        "written",
        event_id,
    )
