"""Where the load's records come from: a record generator hook, `--records module:function`.

A hook is a function of one `RecordRequest` returning `count` records, each a tuple
(partition key, data bytes, record id). Ids must be unique and start with
`request.id_prefix` (the run's id and the process): the loss audit finds the run's records
in the table by them, through the environment file's `audit.key_attribute`/`key_format`.
Redline's own event generator, `loadtests.records:redline_events`, is the default hook.
"""

from __future__ import annotations

import base64
import functools
import importlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
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


REPLAY_FILE_ENV = "REDLINE_REPLAY_FILE"
REPLAY_HOOK = "loadtests.records:replay"


def _replay_entry(entry: Any, where: str) -> tuple[str, bytes]:
    """(partition key, data) of one record in a JSON-lines file or a Kinesis export."""
    if not isinstance(entry, dict):
        raise RecordHookError(f"{where}: a record must be a JSON object")
    if "PartitionKey" in entry and "Data" in entry:  # GetRecords / a Kinesis export
        try:
            return str(entry["PartitionKey"]), base64.b64decode(entry["Data"], validate=True)
        except (ValueError, TypeError):
            raise RecordHookError(f"{where}: Data is not base64") from None
    if "partition_key" in entry and ("data" in entry or "data_base64" in entry):
        if "data_base64" in entry:
            try:
                return str(entry["partition_key"]), base64.b64decode(entry["data_base64"])
            except (ValueError, TypeError):
                raise RecordHookError(f"{where}: data_base64 is not base64") from None
        data = entry["data"]
        text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        return str(entry["partition_key"]), text.encode("utf-8")
    raise RecordHookError(
        f"{where}: a record needs partition_key and data (or data_base64), or Kinesis's"
        " PartitionKey and Data"
    )


@functools.lru_cache(maxsize=2)
def read_replay(path: str) -> tuple[tuple[str, bytes], ...]:
    """Every record of a replay file: JSON lines, each a record or {"Records": [...]}."""
    file = Path(path)
    if not file.is_file():
        raise RecordHookError(f"replay file {path} does not exist")
    records: list[tuple[str, bytes]] = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            entry = json.loads(line)
        except ValueError:
            raise RecordHookError(f"{where}: not JSON") from None
        entries = entry["Records"] if isinstance(entry, dict) and "Records" in entry else [entry]
        records.extend(_replay_entry(e, where) for e in entries)
    if not records:
        raise RecordHookError(f"replay file {path} holds no records")
    return tuple(records)


def replay(request: RecordRequest) -> list[Record]:
    """Records replayed from $REDLINE_REPLAY_FILE in order, from the start again when it ends.

    A record that is a JSON object with an `event_id` (Redline's contract) gets this run's id
    in it, so the audit finds it; other records keep their bytes and get an id the audit
    cannot see in the table (run them with audit.enabled false)."""
    records = read_replay(os.environ.get(REPLAY_FILE_ENV, ""))
    out: list[Record] = []
    for n in range(request.first, request.first + request.count):
        key, data = records[(n - 1) % len(records)]
        record_id = f"{request.id_prefix}.{n:09d}"
        out.append((key, _with_event_id(data, record_id), record_id))
    return out


def _with_event_id(data: bytes, record_id: str) -> bytes:
    if not data.startswith(b"{") or b'"event_id"' not in data:
        return data
    try:
        document = json.loads(data)
    except ValueError:
        return data
    if not isinstance(document, dict) or "event_id" not in document:
        return data
    document["event_id"] = record_id
    return json.dumps(document, separators=(",", ":")).encode("utf-8")
