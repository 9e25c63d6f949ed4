"""Where the load's records come from: a record generator hook, `--records module:function`.

A hook is a function of one `RecordRequest` returning `count` records, each a tuple
(partition key, data bytes, record id). Ids must be unique and start with
`request.id_prefix` (the run's id and the process): the loss audit finds the run's records
in the table by them, through the environment file's `audit.key_attribute`/`key_format`.
Redline's own event generator, `loadtests.records:redline_events`, is the default hook.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline import aws_limits as limits

DEFAULT_HOOK = "loadtests.records:redline_events"
Record = tuple[str, bytes, str]  # (partition key, data, record id)
SAMPLE_COUNT = 3


class RecordHookError(ValueError):
    """A hook that cannot be used; the message is one line naming the hook and the problem."""


@dataclass(frozen=True)
class RecordRequest:
    count: int  # records wanted
    first: int  # sequence number of the first one (1, then count + 1, ...): ids stay unique
    id_prefix: str  # every id starts with it
    now: float  # epoch seconds: when they are sent
    record_bytes: int  # the scenario's RECORD_BYTES (a hint: your records may differ)
    event_types: int  # the scenario's number of event types (a hint)
    partition_key: Callable[[str], str]  # the scenario's KEY_STRATEGY, given a record id


def redline_events(request: RecordRequest) -> list[Record]:
    """Events of Redline's contract (pipeline.contracts.Event), padded to record_bytes."""
    factory = _factory(
        request.id_prefix, request.record_bytes, request.event_types, request.partition_key
    )
    factory._sequence = request.first - 1
    made = factory.make(request.count, request.now)
    return [(key, data, event_id) for event_id, data, key in made]


@functools.lru_cache(maxsize=8)
def _factory(id_prefix: str, record_bytes: int, event_types: int, key: Callable[[str], str]):
    from loadtests.clients import EventFactory

    return EventFactory(id_prefix, record_bytes, event_types, key)


def load_hook(spec: str) -> Callable[[RecordRequest], Sequence[Record]]:
    module_name, sep, function = spec.partition(":")
    if not sep or not module_name or not function:
        raise RecordHookError(f"--records takes module:function, got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the user's module: any import error is theirs to see
        raise RecordHookError(
            f"--records {spec}: module {module_name!r} cannot be imported:"
            f" {type(exc).__name__}: {exc}"
        ) from None
    hook = getattr(module, function, None)
    if not callable(hook):
        raise RecordHookError(f"--records {spec}: {module_name} has no function {function!r}")
    return hook


def checked(spec: str, request: RecordRequest, records: Any) -> list[Record]:
    """The hook's answer if it has the promised shape; else RecordHookError saying how not."""
    if not isinstance(records, list | tuple) or len(records) != request.count:
        got = (
            f"{len(records)} items" if isinstance(records, list | tuple) else type(records).__name__
        )
        raise RecordHookError(
            f"--records {spec}: must return a list of {request.count} (partition_key, data,"
            f" id) tuples, got {got}"
        )
    for index, record in enumerate(records):
        if not isinstance(record, tuple) or len(record) != 3:
            raise RecordHookError(
                f"--records {spec}: record {index} must be a (partition_key, data, id) tuple,"
                f" got {record!r:.80}"
            )
        key, data, record_id = record
        if not isinstance(key, str) or not 1 <= len(key) <= limits.KINESIS_PARTITION_KEY_MAX_CHARS:
            raise RecordHookError(
                f"--records {spec}: record {index}: partition_key must be a string of 1.."
                f"{limits.KINESIS_PARTITION_KEY_MAX_CHARS} characters, got {key!r:.80}"
            )
        if not isinstance(data, bytes) or len(data) > limits.KINESIS_DEFAULT_MAX_RECORD_BYTES:
            raise RecordHookError(
                f"--records {spec}: record {index}: data must be bytes of at most"
                f" {limits.KINESIS_DEFAULT_MAX_RECORD_BYTES}, got {type(data).__name__}"
            )
        if not isinstance(record_id, str) or not record_id.startswith(request.id_prefix):
            raise RecordHookError(
                f"--records {spec}: record {index}: id must be a string starting with"
                f" request.id_prefix ({request.id_prefix!r}), got {record_id!r:.80}"
            )
    if len({r[2] for r in records}) != len(records):
        raise RecordHookError(f"--records {spec}: ids must be unique, got repeats")
    return list(records)


def try_hook(spec: str, record_bytes: int, event_types: int) -> None:
    """Before anything starts: import the hook, call it once, check what it returns."""
    hook = load_hook(spec)
    request = RecordRequest(
        SAMPLE_COUNT, 1, "check.p0", 1.0e9, record_bytes, event_types, lambda rid: rid
    )
    try:
        answer = hook(request)
    except Exception as exc:
        raise RecordHookError(
            f"--records {spec}: raised {type(exc).__name__}: {exc}".splitlines()[0]
        ) from None
    checked(spec, request, answer)


class RecordSource:
    """What the Locust users call: `make(count, now)` -> [(record id, data, partition key)]."""

    def __init__(
        self,
        spec: str,
        id_prefix: str,
        record_bytes: int,
        event_types: int,
        key_chooser: Callable[[str], str],
    ) -> None:
        self.spec = spec or DEFAULT_HOOK
        self.hook = load_hook(self.spec)
        self.id_prefix = id_prefix
        self.record_bytes = record_bytes
        self.event_types = event_types
        self.key_chooser = key_chooser
        self.types = [f"type-{i}" for i in range(max(event_types, 1))]
        self._next = 1

    def make(self, count: int, now: float) -> list[tuple[str, bytes, str]]:
        request = RecordRequest(
            count,
            self._next,
            self.id_prefix,
            now,
            self.record_bytes,
            self.event_types,
            self.key_chooser,
        )
        self._next += count
        records = self.hook(request)
        if self.spec != DEFAULT_HOOK:  # ours is tested; a user's is checked on every call
            records = checked(self.spec, request, records)
        return [(record_id, data, key) for key, data, record_id in records]
