"""The contracts between the parts (DESIGN.md): the event and the stored item."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# event_id and type: letters, digits and _ . : - (safe in URLs, keys and metric attributes).
NAME_PATTERN = r"^[A-Za-z0-9_.:-]+$"
NAME_CHARACTERS = "A-Z a-z 0-9 _ . : -"
EVENT_ID_MAX_CHARS = 128
EventId = Annotated[str, Field(min_length=1, max_length=EVENT_ID_MAX_CHARS, pattern=NAME_PATTERN)]
EVENT_TYPE_MAX_CHARS = 64
EventType = Annotated[
    str, Field(min_length=1, max_length=EVENT_TYPE_MAX_CHARS, pattern=NAME_PATTERN)
]


class Event(BaseModel):
    """What producers put on the stream (JSON, UTF-8)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: EventId
    type: EventType
    source: Annotated[str, Field(min_length=1, max_length=128)]
    produced_at: float
    payload: dict[str, Any]

    @field_validator("produced_at")
    @classmethod
    def _finite_and_positive(cls, value: float) -> float:
        if not math.isfinite(value) or value <= 0:
            raise ValueError("produced_at must be epoch seconds (a positive finite number)")
        return value


class StoredItem(Event):
    """The table item: the event plus where and when the pipeline saw it."""

    arrived_at: float
    stored_at: float
    sequence_number: str


def to_dynamodb_number(value: float) -> Decimal:
    """boto3's resource layer takes Decimal, not float."""
    return Decimal(repr(value))
