"""Bad records -> the dead-letter SQS queue, with their reason and where they came from.

The message body (JSON) is the shared DLQ format of docs/pipeline.md; the message also
carries the reason as a message attribute `reason`, so a consumer can filter without
parsing. A body that would not fit an SQS message drops `data` (the record can still be
read from the stream by shard and sequence number while the stream retains it).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import (
    KinesisStreamRecord,
)
from botocore.exceptions import BotoCoreError, ClientError

from pipeline import aws_limits as limits
from pipeline.ingest.budget import TimeBudget
from pipeline.ingest.records import Rejected

logger = logging.getLogger(__name__)

REASON_ATTRIBUTE = "reason"
# Room for the message attribute and the JSON around `data` when deciding whether data fits.
_ATTRIBUTE_ALLOWANCE_BYTES = 64
# A detail can quote a producer's key names (up to 64 KB each); cut it so the message fits.
MAX_DETAIL_CHARS = 2000


@dataclass(slots=True)
class DeadLetter:
    """One SQS message for one rejected record (`key` identifies the record in its batch)."""

    key: int
    reason: str
    body: str

    @property
    def size(self) -> int:
        return len(self.body.encode("utf-8")) + _ATTRIBUTE_ALLOWANCE_BYTES


def dead_letter(key: int, record: KinesisStreamRecord, rejected: Rejected) -> DeadLetter:
    kinesis = record.kinesis
    body: dict[str, Any] = {
        "reason": rejected.reason.value,
        "detail": _truncated(rejected.detail),
        "event_id": rejected.event_id,
        "shard_id": shard_id(record),
        "sequence_number": kinesis.sequence_number,
        "partition_key": kinesis.partition_key,
        "approximate_arrival_timestamp": kinesis.approximate_arrival_timestamp,
        "event_source_arn": record.event_source_arn,
        "data": kinesis.data,
        "data_truncated": False,
    }
    text = json.dumps(body, separators=(",", ":"))
    if len(text.encode("utf-8")) + _ATTRIBUTE_ALLOWANCE_BYTES > limits.SQS_MAX_MESSAGE_BYTES:
        body["data"] = None
        body["data_truncated"] = True
        body["data_base64_chars"] = len(kinesis.data)
        text = json.dumps(body, separators=(",", ":"))
    return DeadLetter(key=key, reason=rejected.reason.value, body=text)


def _truncated(detail: str) -> str:
    """Keep the head (where) and the tail (why) of a long detail."""
    if len(detail) <= MAX_DETAIL_CHARS:
        return detail
    half = MAX_DETAIL_CHARS // 2
    cut = len(detail) - 2 * half
    return f"{detail[:half]} ...({cut} characters cut)... {detail[-half:]}"


def shard_id(record: KinesisStreamRecord) -> str:
    """Lambda's eventID is "<shardId>:<sequenceNumber>"."""
    return record.event_id.split(":", 1)[0]


def send_dead_letters(
    sqs: Any, queue_url: str, letters: list[DeadLetter], budget: TimeBudget
) -> set[int]:
    """Send with SendMessageBatch; return the keys of the letters that SQS accepted."""
    sent: set[int] = set()
    for chunk in _chunks(letters):
        if budget.expired():
            logger.warning(
                "no time left to dead-letter %d records; they will be redelivered", len(chunk)
            )
            continue
        entries = [
            {
                "Id": str(letter.key),
                "MessageBody": letter.body,
                "MessageAttributes": {
                    REASON_ATTRIBUTE: {"DataType": "String", "StringValue": letter.reason}
                },
            }
            for letter in chunk
        ]
        try:
            response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        except (ClientError, BotoCoreError) as exc:
            logger.error(
                "dead-letter queue refused %d records; they will be redelivered: %s",
                len(chunk),
                exc,
            )
            continue
        for success in response.get("Successful", []):
            sent.add(int(success["Id"]))
        failed = response.get("Failed", [])
        if failed:
            logger.error(
                "dead-letter queue refused %d records; they will be redelivered: %s",
                len(failed),
                "; ".join(f"{f.get('Code')}: {f.get('Message')}" for f in failed[:3]),
            )
    return sent


def _chunks(letters: list[DeadLetter]) -> list[list[DeadLetter]]:
    """Pack letters into SendMessageBatch calls: at most 10 entries and 256 KiB per call."""
    chunks: list[list[DeadLetter]] = []
    current: list[DeadLetter] = []
    current_bytes = 0
    for letter in letters:
        too_many = len(current) == limits.SQS_SEND_BATCH_MAX_ENTRIES
        too_big = current_bytes + letter.size > limits.SQS_SEND_BATCH_MAX_BYTES
        if current and (too_many or too_big):
            chunks.append(current)
            current, current_bytes = [], 0
        current.append(letter)
        current_bytes += letter.size
    if current:
        chunks.append(current)
    return chunks
