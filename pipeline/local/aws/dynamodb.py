"""DynamoDB in front of dynalite: capacity token buckets per table and per GSI, per-partition
caps, on-demand rules, ReturnConsumedCapacity with computed values, AWS/DynamoDB metrics.

Admission: a request is admitted while the buckets it spends from hold a positive balance and
is then debited with what it really consumed (dynalite's ConsumedCapacity for the table, the
gateway's own arithmetic for GSIs, which dynalite does not charge). Batch calls are judged item
by item in order, each item pre-debited with its estimated cost.

dynalite has no PartiQL: BatchExecuteStatement with the INSERT statements Redline sends
(`pipeline.partiql_insert`) is run as a BatchGetItem of the keys (which are taken: DuplicateItem,
one write unit each, as a failed condition costs) and a BatchWriteItem of the rest through the
same admission, answered statement by statement as AWS does. Every write through the gateway
holds the locks of its keys (striped by hash), so no other write of those keys lands between
the two; writes of other keys go on meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline import aws_limits as L
from pipeline import capacity, partiql_insert
from pipeline import metrics as M
from pipeline.local.aws import dynamodb_validation
from pipeline.local.aws.cloudwatch import MetricStore
from pipeline.local.aws.errors import AwsError
from pipeline.local.aws.faults import WriteThrottleFault
from pipeline.local.aws.limits import PeakTracker, SecondWindow, TokenBucket
from pipeline.local.aws.protocol import (
    DYNAMODB_CONTENT_TYPE,
    DYNAMODB_ERROR_PREFIX,
    EngineClient,
    Response,
    json_response,
)

TARGET_PREFIX = "DynamoDB_20120810"
KEY_LOCK_STRIPES = 4096  # write locks by key hash: two chunks of 25 keys rarely share one
NAMESPACE = "AWS/DynamoDB"
TABLE_INFO_TTL_S = 2.0
THROTTLED = "ProvisionedThroughputExceededException"
TABLE_THROTTLE_MESSAGE = (
    "The level of configured provisioned throughput for the table was exceeded. "
    "Consider increasing your provisioning level with the UpdateTable API."
)
GSI_THROTTLE_MESSAGE = (
    "The level of configured provisioned throughput for one or more global secondary indexes "
    "of the table was exceeded. Consider increasing your provisioning level for the "
    "under-provisioned global secondary indexes with the UpdateTable API"
)
ON_DEMAND_THROTTLE_MESSAGE = (
    "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically "
    "scaling your table or index so please try again shortly. If exceptions persist, check if "
    "you have a hot key: "
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html"
)
# A PutItem's exception -> the per-statement error code BatchExecuteStatement answers with.
_STATEMENT_ERROR_CODES = {
    "ConditionalCheckFailedException": partiql_insert.DUPLICATE_ITEM,
    "ProvisionedThroughputExceededException": "ProvisionedThroughputExceeded",
    "ThrottlingException": "ThrottlingError",
    "RequestLimitExceeded": "RequestLimitExceeded",
    "ValidationException": partiql_insert.VALIDATION_ERROR,
    "ResourceNotFoundException": "ResourceNotFound",
    "AccessDeniedException": "AccessDenied",
}
PARTITION_THROTTLE_MESSAGE = (
    "Throughput exceeds the current throughput limit for your partition key: one partition "
    "serves at most 3,000 read units and 1,000 write units per second."
)
WRITE_OPS = ("PutItem", "UpdateItem", "DeleteItem")
READ_OPS = ("GetItem", "Query", "Scan")

_CONSUMED_WRITE = M.by_name("ConsumedWriteCapacityUnits", NAMESPACE).name
_CONSUMED_READ = M.by_name("ConsumedReadCapacityUnits", NAMESPACE).name
_PROVISIONED_WRITE = M.by_name("ProvisionedWriteCapacityUnits", NAMESPACE).name
_PROVISIONED_READ = M.by_name("ProvisionedReadCapacityUnits", NAMESPACE).name
_WRITE_THROTTLES = M.by_name("WriteThrottleEvents", NAMESPACE).name
_READ_THROTTLES = M.by_name("ReadThrottleEvents", NAMESPACE).name
_THROTTLED_REQUESTS = M.by_name("ThrottledRequests", NAMESPACE).name


@dataclass
class Capacity:
    """Read and write admission for a table or a GSI."""

    read: TokenBucket | PeakTracker
    write: TokenBucket | PeakTracker
    rcu: float
    wcu: float

    def can(self, kind: str, at: float) -> bool:
        limiter = self.read if kind == "read" else self.write
        if isinstance(limiter, TokenBucket):
            return limiter.has_capacity()
        return limiter.current < limiter.allowed(at)

    def spend(self, kind: str, units: float, at: float | None = None) -> None:
        limiter = self.read if kind == "read" else self.write
        if isinstance(limiter, TokenBucket):
            limiter.debit(units)
        else:
            limiter.take(units, at)


@dataclass
class Index:
    name: str
    hash_key: str
    range_key: str | None
    projection: str
    non_key: tuple[str, ...]
    capacity: Capacity


@dataclass
class Table:
    name: str
    on_demand: bool
    hash_key: str
    range_key: str | None
    capacity: Capacity
    indexes: dict[str, Index] = field(default_factory=dict)
    loaded_at: float = 0.0
    partition_second: int = 0
    partitions: dict[str, SecondWindow] = field(default_factory=dict)

    def partition(self, key_value: Any, at: float | None = None) -> SecondWindow:
        now = int(time.time() if at is None else at)
        if now > self.partition_second:
            self.partition_second, self.partitions = now, {}
        token = json.dumps(key_value, sort_keys=True)
        window = self.partitions.get(token)
        if window is None:
            window = self.partitions[token] = SecondWindow(
                (L.DYNAMODB_PARTITION_MAX_RCU, L.DYNAMODB_PARTITION_MAX_WCU)
            )
        return window


def _keys(schema: list[dict[str, str]]) -> tuple[str, str | None]:
    hash_key = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
    range_key = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
    return hash_key, range_key


def _units_of(consumed: Any) -> float:
    if isinstance(consumed, dict):
        return float(consumed.get("CapacityUnits", 0.0))
    return 0.0


@dataclass(frozen=True, slots=True)
class _Answer:
    """One statement's entry in BatchExecuteStatement's Responses, and the units it took."""

    response: dict[str, Any]
    units: float = 0.0

    @staticmethod
    def error(table_name: str | None, code: str, message: str) -> _Answer:
        response: dict[str, Any] = {"Error": {"Code": code, "Message": message}}
        if table_name is not None:
            response["TableName"] = table_name
        return _Answer(response)

    @staticmethod
    def throttled(table_name: str) -> _Answer:
        return _Answer.error(table_name, "ProvisionedThroughputExceeded", TABLE_THROTTLE_MESSAGE)


def _entry_key(entry: dict[str, Any]) -> dict[str, Any]:
    """The item (PutRequest) or key (DeleteRequest) of a BatchWriteItem entry."""
    put = (entry.get("PutRequest") or {}).get("Item")
    return put if isinstance(put, dict) else (entry.get("DeleteRequest") or {}).get("Key") or {}


def _key_of(table: Table, item: dict[str, Any]) -> str | None:
    """The item's primary key as one comparable string; None when a key attribute is missing."""
    names = [name for name in (table.hash_key, table.range_key) if name]
    if not all(isinstance(item.get(name), dict) for name in names):
        return None
    return json.dumps([item[name] for name in names], sort_keys=True)


class DynamoFront:
    def __init__(
        self, engine: EngineClient, metrics: MetricStore, limits_enabled: bool, burst_seconds: float
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.limits_enabled = limits_enabled
        self.burst_seconds = burst_seconds
        self._tables: dict[str, Table] = {}
        self._lock = threading.Lock()
        # Auto scaling (pipeline/local/aws/autoscaling.py) says which tables are UPDATING.
        self.updating: Callable[[str], bool] = lambda table_name: False
        self.write_fault = WriteThrottleFault()
        self._key_stripes = [threading.RLock() for _ in range(KEY_LOCK_STRIPES)]

    def _key_locks(self, keys: Iterable[tuple[str, str | None]]) -> contextlib.ExitStack:
        """Held around every write of these (table, key) pairs (see the module docstring):
        one lock a stripe of their hashes, taken in stripe order so two writers cannot
        deadlock; writes of other keys go on at once (dynalite overlaps their disk I/O)."""
        stack = contextlib.ExitStack()
        for stripe in sorted({hash(key) % KEY_LOCK_STRIPES for key in keys}):
            stack.enter_context(self._key_stripes[stripe])
        return stack

    def reset(self) -> None:
        with self._lock:
            self._tables.clear()

    # ------------------------------------------------------------------ table shapes

    def _capacity(self, old: Capacity | None, on_demand: bool, rcu: float, wcu: float) -> Capacity:
        if on_demand:
            if old is not None and isinstance(old.read, PeakTracker):
                return old
            return Capacity(
                read=PeakTracker(
                    L.DYNAMODB_ON_DEMAND_INITIAL_READS_PER_S,
                    L.DYNAMODB_ON_DEMAND_PEAK_MULTIPLIER,
                    L.DYNAMODB_ON_DEMAND_PEAK_WINDOW_S,
                ),
                write=PeakTracker(
                    L.DYNAMODB_ON_DEMAND_INITIAL_WRITES_PER_S,
                    L.DYNAMODB_ON_DEMAND_PEAK_MULTIPLIER,
                    L.DYNAMODB_ON_DEMAND_PEAK_WINDOW_S,
                ),
                rcu=0,
                wcu=0,
            )
        if old is not None and isinstance(old.read, TokenBucket):
            old.read.resize(rcu, self.burst_seconds)
            assert isinstance(old.write, TokenBucket)
            old.write.resize(wcu, self.burst_seconds)
            old.rcu, old.wcu = rcu, wcu
            return old
        return Capacity(
            read=TokenBucket(rcu, self.burst_seconds),
            write=TokenBucket(wcu, self.burst_seconds),
            rcu=rcu,
            wcu=wcu,
        )

    def _table(self, name: str) -> Table:
        now = time.monotonic()
        with self._lock:
            table = self._tables.get(name)
            if table is not None and now - table.loaded_at < TABLE_INFO_TTL_S:
                return table
        description = self.engine.call_json("DescribeTable", TARGET_PREFIX, {"TableName": name})[
            "Table"
        ]
        on_demand = (description.get("BillingModeSummary") or {}).get(
            "BillingMode"
        ) == "PAY_PER_REQUEST"
        throughput = description.get("ProvisionedThroughput") or {}
        with self._lock:
            table = self._tables.get(name)
            hash_key, range_key = _keys(description["KeySchema"])
            cap = self._capacity(
                table.capacity if table else None,
                on_demand,
                float(throughput.get("ReadCapacityUnits") or 0),
                float(throughput.get("WriteCapacityUnits") or 0),
            )
            if table is None:
                table = Table(name, on_demand, hash_key, range_key, cap)
                self._tables[name] = table
            table.on_demand, table.capacity = on_demand, cap
            indexes = {}
            for raw in description.get("GlobalSecondaryIndexes") or []:
                old = table.indexes.get(raw["IndexName"])
                index_throughput = raw.get("ProvisionedThroughput") or {}
                ih, ir = _keys(raw["KeySchema"])
                projection = raw.get("Projection") or {}
                indexes[raw["IndexName"]] = Index(
                    name=raw["IndexName"],
                    hash_key=ih,
                    range_key=ir,
                    projection=projection.get("ProjectionType", "ALL"),
                    non_key=tuple(projection.get("NonKeyAttributes") or ()),
                    capacity=self._capacity(
                        old.capacity if old else None,
                        on_demand,
                        float(index_throughput.get("ReadCapacityUnits") or 0),
                        float(index_throughput.get("WriteCapacityUnits") or 0),
                    ),
                )
            table.indexes = indexes
            table.loaded_at = now
            return table

    def _forget(self, name: Any) -> None:
        if isinstance(name, str):
            with self._lock:
                self._tables.pop(name, None)

    def _refresh(self, name: Any) -> None:
        with self._lock:
            table = self._tables.get(name) if isinstance(name, str) else None
            if table is not None:
                table.loaded_at = 0.0

    # ------------------------------------------------------------------ helpers

    def _error(self, code: str, message: str, status: int = 400) -> Response:
        return json_response(
            {"__type": DYNAMODB_ERROR_PREFIX + code, "message": message},
            DYNAMODB_CONTENT_TYPE,
            status,
            crc=True,
        )

    def _call(self, operation: str, payload: dict[str, Any], auth: str) -> Response:
        return self.engine.call(f"{TARGET_PREFIX}.{operation}", json.dumps(payload).encode(), auth)

    def _call_with(
        self, operation: str, body: bytes, request: dict[str, Any], extra: dict[str, str], auth: str
    ) -> Response:
        """Forward the caller's body with `extra` fields added; when none of them is already
        there, splice them into the raw JSON instead of serialising the request again."""
        if any(key in request for key in extra) or not request:
            return self._call(operation, dict(request, **extra), auth)
        end = body.rstrip().rindex(b"}")
        added = b"".join(b',"%s":"%s"' % (k.encode(), v.encode()) for k, v in extra.items())
        return self.engine.call(f"{TARGET_PREFIX}.{operation}", body[:end] + added + b"}", auth)

    def _record(
        self,
        table: Table,
        values: dict[str, float],
        index: str | None = None,
        ts: float | None = None,
    ) -> None:
        """Metrics carry the admission time: the second in which the limits counted them."""
        dims: tuple[tuple[str, str], ...] = (("TableName", table.name),)
        if index:
            dims = (("GlobalSecondaryIndexName", index), ("TableName", table.name))
        self.metrics.record_many(
            NAMESPACE, dims, {name: (value, "Count") for name, value in values.items()}, ts
        )

    def _record_provisioned(self, table: Table, ts: float | None = None) -> None:
        if table.on_demand:
            return
        self._record(
            table,
            {_PROVISIONED_READ: table.capacity.rcu, _PROVISIONED_WRITE: table.capacity.wcu},
            ts=ts,
        )

    def _projected_size(self, table: Table, index: Index, item: dict[str, Any]) -> int:
        if index.projection == "ALL":
            return capacity.item_size(item)
        keep = {table.hash_key, table.range_key, index.hash_key, index.range_key, *index.non_key}
        if index.projection == "KEYS_ONLY":
            keep -= set(index.non_key)
        return capacity.item_size({k: v for k, v in item.items() if k in keep})

    @staticmethod
    def _in_index(index: Index, item: dict[str, Any] | None) -> bool:
        return (
            bool(item)
            and index.hash_key in item
            and (index.range_key is None or index.range_key in item)
        )

    def _index_writes(
        self, table: Table, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> dict[str, float]:
        """WCU each GSI spends for a write changing old into new (either may be None)."""
        spent: dict[str, float] = {}
        for index in table.indexes.values():
            was, now = self._in_index(index, old), self._in_index(index, new)
            if not was and not now:
                continue
            assert old is not None or new is not None
            units = 0.0
            if was and now:
                assert old is not None and new is not None
                keys = (index.hash_key, index.range_key)
                if any(old.get(k) != new.get(k) for k in keys if k):
                    units = capacity.write_units(self._projected_size(table, index, old))
                    units += capacity.write_units(self._projected_size(table, index, new))
                else:
                    units = capacity.write_units(
                        max(
                            self._projected_size(table, index, old),
                            self._projected_size(table, index, new),
                        )
                    )
            else:
                units = capacity.write_units(
                    self._projected_size(table, index, (new if now else old) or {})
                )
            spent[index.name] = units
        return spent

    def _consumed_reply(
        self, table: Table, mode: str | None, table_units: float, index_units: dict[str, float]
    ) -> dict[str, Any] | None:
        if mode not in ("TOTAL", "INDEXES"):
            return None
        consumed: dict[str, Any] = {
            "TableName": table.name,
            "CapacityUnits": table_units + sum(index_units.values()),
        }
        if mode == "INDEXES":
            consumed["Table"] = {"CapacityUnits": table_units}
            if index_units:
                consumed["GlobalSecondaryIndexes"] = {
                    name: {"CapacityUnits": units} for name, units in index_units.items()
                }
        return consumed

    # ------------------------------------------------------------------ dispatch

    def handle(self, operation: str, body: bytes, request: dict[str, Any], auth: str) -> Response:
        refusal = dynamodb_validation.write_refusal(operation, request)
        if refusal is not None:
            return self._error(refusal.code, refusal.message, refusal.status)
        if self.write_fault.throttles(operation):
            return self._error(THROTTLED, TABLE_THROTTLE_MESSAGE)
        if operation in WRITE_OPS and isinstance(request.get("TableName"), str):
            return self._write(operation, body, request, auth)
        if operation in READ_OPS and isinstance(request.get("TableName"), str):
            return self._read(operation, body, request, auth)
        if operation == "BatchWriteItem" and isinstance(request.get("RequestItems"), dict):
            return self._batch_write(body, request, auth)
        if operation == "BatchGetItem" and isinstance(request.get("RequestItems"), dict):
            return self._batch_get(body, request, auth)
        if operation == "BatchExecuteStatement":
            return self._batch_execute(request, auth)
        response = self.engine.call(f"{TARGET_PREFIX}.{operation}", body, auth)
        if operation in ("CreateTable", "DeleteTable") and response.status == 200:
            self._forget(request.get("TableName"))
        elif operation == "UpdateTable" and response.status == 200:
            self._refresh(request.get("TableName"))  # new capacity, same bucket balances
        elif (
            operation == "DescribeTable"
            and response.status == 200
            and self.updating(str(request.get("TableName")))
        ):
            described = json.loads(response.body)
            described["Table"]["TableStatus"] = "UPDATING"
            return json_response(described, DYNAMODB_CONTENT_TYPE, crc=True)
        return response

    def update_table(self, request: dict[str, Any]) -> None:
        """UpdateTable on behalf of auto scaling; the buckets follow the new capacity."""
        response = self.handle("UpdateTable", json.dumps(request).encode(), request, "")
        if response.status != 200:
            raise AwsError("UpdateTableFailed", response.body.decode("utf-8", "replace"))

    def _known_table(self, name: str) -> Table | None:
        try:
            return self._table(name)
        except AwsError as exc:
            if exc.code == "ResourceNotFoundException":
                return None  # the engine answers with AWS's own message
            raise

    # ------------------------------------------------------------------ single-item writes

    def _write(self, operation: str, body: bytes, request: dict[str, Any], auth: str) -> Response:
        table = self._known_table(request["TableName"])
        if table is None:
            return self.engine.call(f"{TARGET_PREFIX}.{operation}", body, auth)
        source = request.get("Item") if operation == "PutItem" else request.get("Key")
        key = _key_of(table, source) if isinstance(source, dict) else None
        with self._key_locks([(table.name, key)]):
            return self._write_locked(table, operation, body, request, auth)

    def _write_locked(
        self, table: Table, operation: str, body: bytes, request: dict[str, Any], auth: str
    ) -> Response:
        source = request.get("Item") if operation == "PutItem" else request.get("Key")
        key_value = source.get(table.hash_key) if isinstance(source, dict) else None
        refusal, reserved, admitted_at = self._admit_write(table, operation, request, key_value)
        if refusal is not None:
            self._record(table, {_WRITE_THROTTLES: 1, _THROTTLED_REQUESTS: 1}, ts=admitted_at)
            return refusal
        asked_capacity = request.get("ReturnConsumedCapacity")
        asked_values = request.get("ReturnValues", "NONE")
        forward = {"ReturnConsumedCapacity": "TOTAL"}
        if asked_values == "NONE" and table.indexes:
            forward["ReturnValues"] = "ALL_NEW" if operation == "UpdateItem" else "ALL_OLD"
        if request.get("ReturnConsumedCapacity") == "TOTAL":
            del forward["ReturnConsumedCapacity"]
        response = self._call_with(operation, body, request, forward, auth)
        forward = dict(request, **forward)
        payload = json.loads(response.body) if response.body else {}
        if response.status != 200:
            if "ConditionalCheckFailed" in str(payload.get("__type", "")):
                # A failed condition still costs a write.
                self._debit_write(table, key_value, 1.0, {}, reserved, admitted_at)
            return response
        table_units = _units_of(payload.pop("ConsumedCapacity", None))
        attributes = payload.get("Attributes")
        old: dict[str, Any] | None = None
        new: dict[str, Any] | None = None
        if operation == "PutItem":
            new = request.get("Item")
            old = attributes if forward.get("ReturnValues") == "ALL_OLD" else None
        elif operation == "DeleteItem":
            old = attributes if forward.get("ReturnValues") == "ALL_OLD" else None
        else:
            new = attributes if forward.get("ReturnValues") in ("ALL_NEW",) else None
        index_units = self._index_writes(table, old, new)
        if asked_values == "NONE":
            payload.pop("Attributes", None)
        self._debit_write(table, key_value, table_units, index_units, reserved, admitted_at)
        consumed = self._consumed_reply(table, asked_capacity, table_units, index_units)
        if consumed:
            payload["ConsumedCapacity"] = consumed
        return json_response(payload, DYNAMODB_CONTENT_TYPE, crc=True)

    def _admit_write(
        self, table: Table, operation: str, request: dict[str, Any], key_value: Any
    ) -> tuple[Response | None, float, float]:
        """(refusal or None, units reserved in the partition's second, the admission time)."""
        item = request.get("Item") if operation == "PutItem" else None
        touched = [
            index for index in table.indexes.values() if item is None or self._in_index(index, item)
        ]
        with self._lock:
            at = time.time()
            if not self.limits_enabled:
                return None, 0.0, at
            if not table.capacity.can("write", at):
                return (
                    self._error(
                        THROTTLED,
                        ON_DEMAND_THROTTLE_MESSAGE if table.on_demand else TABLE_THROTTLE_MESSAGE,
                    ),
                    0.0,
                    at,
                )
            for index in touched:
                if not index.capacity.can("write", at):
                    self._record(table, {_WRITE_THROTTLES: 1}, index.name, at)
                    return (
                        self._error(
                            THROTTLED,
                            ON_DEMAND_THROTTLE_MESSAGE if table.on_demand else GSI_THROTTLE_MESSAGE,
                        ),
                        0.0,
                        at,
                    )
            if key_value is None:
                return None, 0.0, at
            estimate = float(capacity.write_units(capacity.item_size(item)) if item else 1)
            if not table.partition(key_value, at).try_take(0, estimate, at=at):
                return self._error(THROTTLED, PARTITION_THROTTLE_MESSAGE), 0.0, at
            return None, estimate, at

    def _debit_write(
        self,
        table: Table,
        key_value: Any,
        units: float,
        index_units: dict[str, float],
        reserved: float,
        admitted_at: float,
    ) -> None:
        with self._lock:
            table.capacity.spend("write", units, admitted_at)
            for name, spent in index_units.items():
                if name in table.indexes:
                    table.indexes[name].capacity.spend("write", spent, admitted_at)
            if key_value is not None:
                table.partition(key_value).take(0, units - reserved)
        self._record(table, {_CONSUMED_WRITE: units}, ts=admitted_at)
        for name, spent in index_units.items():
            self._record(table, {_CONSUMED_WRITE: spent}, name, ts=admitted_at)
        self._record_provisioned(table, ts=admitted_at)

    # ------------------------------------------------------------------ single-table reads

    def _read(self, operation: str, body: bytes, request: dict[str, Any], auth: str) -> Response:
        table = self._known_table(request["TableName"])
        if table is None:
            return self.engine.call(f"{TARGET_PREFIX}.{operation}", body, auth)
        index = table.indexes.get(request.get("IndexName") or "")
        limiter = index.capacity if index else table.capacity
        key_value = None
        if operation == "GetItem" and isinstance(request.get("Key"), dict):
            key_value = request["Key"].get(table.hash_key)
        admitted_at = time.time()
        reserved = 0.0
        if self.limits_enabled:
            with self._lock:
                admitted_at = time.time()
                admitted = limiter.can("read", admitted_at)
                message = ON_DEMAND_THROTTLE_MESSAGE if table.on_demand else TABLE_THROTTLE_MESSAGE
                if admitted and key_value is not None:
                    reserved = 1.0 if request.get("ConsistentRead") else 0.5
                    window = table.partition(key_value, admitted_at)
                    if not window.try_take(reserved, 0, at=admitted_at):
                        admitted, message = False, PARTITION_THROTTLE_MESSAGE
            if not admitted:
                self._record(
                    table,
                    {_READ_THROTTLES: 1, _THROTTLED_REQUESTS: 1},
                    index.name if index else None,
                )
                return self._error(THROTTLED, message)
        asked_capacity = request.get("ReturnConsumedCapacity")
        extra = {} if asked_capacity == "TOTAL" else {"ReturnConsumedCapacity": "TOTAL"}
        response = self._call_with(operation, body, request, extra, auth)
        if response.status != 200:
            return response
        payload = json.loads(response.body)
        units = _units_of(payload.pop("ConsumedCapacity", None))
        # A read that finds nothing still costs one unit (half when eventually consistent).
        units = max(units, 1.0 if request.get("ConsistentRead") else 0.5)
        with self._lock:
            limiter.spend("read", units, admitted_at)
            if key_value is not None:
                table.partition(key_value).take(units - reserved, 0)
        self._record(table, {_CONSUMED_READ: units}, index.name if index else None, admitted_at)
        self._record_provisioned(table, admitted_at)
        if asked_capacity in ("TOTAL", "INDEXES"):
            consumed: dict[str, Any] = {"TableName": table.name, "CapacityUnits": units}
            if asked_capacity == "INDEXES":
                if index:
                    consumed["Table"] = {"CapacityUnits": 0.0}
                    consumed["GlobalSecondaryIndexes"] = {index.name: {"CapacityUnits": units}}
                else:
                    consumed["Table"] = {"CapacityUnits": units}
            payload["ConsumedCapacity"] = consumed
        return json_response(payload, DYNAMODB_CONTENT_TYPE, crc=True)

    # ------------------------------------------------------------------ batches

    def _tables_or_passthrough(self, request_items: dict[str, Any]) -> dict[str, Table] | None:
        tables = {}
        for name in request_items:
            if not isinstance(name, str):
                return None
            try:
                tables[name] = self._table(name)
            except AwsError as exc:
                if exc.code == "ResourceNotFoundException":
                    return None
                raise
        return tables

    def _batch_write(self, body: bytes, request: dict[str, Any], auth: str) -> Response:
        items = request["RequestItems"]
        valid = all(
            isinstance(v, list)
            and all(isinstance(r, dict) and ("PutRequest" in r or "DeleteRequest" in r) for r in v)
            for v in items.values()
        )
        count = sum(len(v) for v in items.values()) if valid else 0
        tables = self._tables_or_passthrough(items) if valid else None
        if tables is None or not 1 <= count <= L.DYNAMODB_BATCH_WRITE_MAX_ITEMS:
            return self.engine.call(f"{TARGET_PREFIX}.BatchWriteItem", body, auth)
        keys = [
            (name, _key_of(tables[name], _entry_key(entry)))
            for name, entries in items.items()
            for entry in entries
        ]
        with self._key_locks(keys):
            return self._batch_write_locked(tables, request, auth)

    def _batch_write_locked(
        self, tables: dict[str, Table], request: dict[str, Any], auth: str
    ) -> Response:
        items = request["RequestItems"]
        admitted: dict[str, list[dict[str, Any]]] = {}
        unprocessed: dict[str, list[dict[str, Any]]] = {}
        estimates: dict[str, float] = {}
        index_spent: dict[str, dict[str, float]] = {}
        throttled: dict[str, int] = {}
        with self._lock:
            admitted_at = time.time()
            for name, requests in items.items():
                table = tables[name]
                for entry in requests:
                    put = (entry.get("PutRequest") or {}).get("Item")
                    key = put if put is not None else (entry.get("DeleteRequest") or {}).get("Key")
                    key_value = key.get(table.hash_key) if isinstance(key, dict) else None
                    units = float(capacity.write_units(capacity.item_size(put))) if put else 1.0
                    index_units = self._index_writes(table, None, put) if put else {}
                    if self.limits_enabled and not self._batch_item_fits(
                        table, key_value, units, index_units, admitted_at
                    ):
                        unprocessed.setdefault(name, []).append(entry)
                        throttled[name] = throttled.get(name, 0) + 1
                        continue
                    admitted.setdefault(name, []).append(entry)
                    table.capacity.spend("write", units, admitted_at)
                    for index_name, spent in index_units.items():
                        table.indexes[index_name].capacity.spend("write", spent, admitted_at)
                        index_spent.setdefault(name, {})
                        index_spent[name][index_name] = index_spent[name].get(index_name, 0) + spent
                    if key_value is not None:
                        table.partition(key_value, admitted_at).take(0, units, at=admitted_at)
                    estimates[name] = estimates.get(name, 0.0) + units
        for name, n in throttled.items():
            self._record(tables[name], {_WRITE_THROTTLES: n}, ts=admitted_at)
        if not admitted:
            for name in items:
                self._record(tables[name], {_THROTTLED_REQUESTS: 1}, ts=admitted_at)
            return self._error(THROTTLED, TABLE_THROTTLE_MESSAGE)
        forward = dict(request, RequestItems=admitted, ReturnConsumedCapacity="TOTAL")
        response = self._call("BatchWriteItem", forward, auth)
        if response.status != 200:
            return response
        payload = json.loads(response.body)
        actual = {c["TableName"]: _units_of(c) for c in payload.pop("ConsumedCapacity", [])}
        for name, entries in (payload.get("UnprocessedItems") or {}).items():
            unprocessed.setdefault(name, []).extend(entries)
        payload["UnprocessedItems"] = unprocessed
        consumed_list = []
        for name in admitted:
            table = tables[name]
            units = actual.get(name, estimates.get(name, 0.0))
            with self._lock:
                table.capacity.spend("write", units - estimates.get(name, 0.0), admitted_at)
            self._record(table, {_CONSUMED_WRITE: units}, ts=admitted_at)
            for index_name, spent in index_spent.get(name, {}).items():
                self._record(table, {_CONSUMED_WRITE: spent}, index_name, admitted_at)
            self._record_provisioned(table, admitted_at)
            consumed = self._consumed_reply(
                table, request.get("ReturnConsumedCapacity"), units, index_spent.get(name, {})
            )
            if consumed:
                consumed_list.append(consumed)
        if consumed_list:
            payload["ConsumedCapacity"] = consumed_list
        return json_response(payload, DYNAMODB_CONTENT_TYPE, crc=True)

    # ------------------------------------------------------------------ PartiQL INSERT batches

    def _batch_execute(self, request: dict[str, Any], auth: str) -> Response:
        statements = request.get("Statements")
        if not isinstance(statements, list) or not (
            1 <= len(statements) <= partiql_insert.MAX_STATEMENTS
        ):
            return self._error(
                "ValidationException",
                "1 validation error detected: Value at 'statements' failed to satisfy constraint: "
                f"Member must have length between 1 and {partiql_insert.MAX_STATEMENTS}",
            )
        answers: list[_Answer] = [_Answer({})] * len(statements)
        by_table: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for index, statement in enumerate(statements):
            try:
                if not isinstance(statement, dict):
                    raise ValueError("a statement is an object with Statement and Parameters")
                table_name, item = partiql_insert.parse_insert(
                    statement.get("Statement"), statement.get("Parameters")
                )
            except ValueError as exc:
                answers[index] = _Answer.error(
                    None, partiql_insert.VALIDATION_ERROR, f"local stack: {exc}"
                )
                continue
            by_table.setdefault(table_name, []).append((index, item))
        for table_name, inserts in by_table.items():
            table = self._known_table(table_name)
            if table is None:
                found = {i: self._insert_one(table_name, item, auth) for i, item in inserts}
            else:
                found = self._insert_many(table, inserts, auth)
            for index, answer in found.items():
                answers[index] = answer
        payload: dict[str, Any] = {"Responses": [answer.response for answer in answers]}
        if request.get("ReturnConsumedCapacity", "NONE") != "NONE":
            consumed: dict[str, float] = {}
            for answer in answers:
                if answer.units:
                    name = answer.response["TableName"]
                    consumed[name] = consumed.get(name, 0.0) + answer.units
            payload["ConsumedCapacity"] = [
                {"TableName": name, "CapacityUnits": units} for name, units in consumed.items()
            ]
        return json_response(payload, DYNAMODB_CONTENT_TYPE, crc=True)

    def _insert_many(
        self, table: Table, inserts: list[tuple[int, dict[str, Any]]], auth: str
    ) -> dict[int, _Answer]:
        """The table's INSERTs: refused items answered alone, then one BatchGetItem of the
        keys and one BatchWriteItem of the untaken ones, holding the keys' locks."""
        answers: dict[int, _Answer] = {}
        candidates: list[tuple[int, dict[str, Any], str]] = []
        for index, item in inserts:
            refusal = dynamodb_validation.item_refusal(item)
            key = _key_of(table, item)
            if refusal is not None:
                answers[index] = _Answer.error(
                    table.name, partiql_insert.VALIDATION_ERROR, refusal.message
                )
            elif key is None:  # a key attribute missing: dynalite says what is wrong
                answers[index] = self._insert_one(table.name, item, auth)
            elif self.write_fault.throttles("PutItem"):
                answers[index] = _Answer.throttled(table.name)
            else:
                candidates.append((index, item, key))
        if len({key for _, _, key in candidates}) < len(candidates):  # the same key twice
            answers.update(
                {i: self._insert_one(table.name, item, auth) for i, item, _ in candidates}
            )
            return answers
        with self._key_locks([(table.name, key) for _, _, key in candidates]):
            taken = self._taken_keys(table, [item for _, item, _ in candidates], auth)
            if taken is None:
                for index, item, _ in candidates:
                    answers[index] = self._insert_one(table.name, item, auth)
                return answers
            fresh = []
            for index, item, key in candidates:
                if key in taken:
                    # A failed condition still costs a write.
                    self._debit_write(table, item.get(table.hash_key), 1.0, {}, 0.0, time.time())
                    answers[index] = _Answer.error(
                        table.name,
                        partiql_insert.DUPLICATE_ITEM,
                        partiql_insert.DUPLICATE_ITEM_MESSAGE,
                    )
                else:
                    fresh.append((index, item, key))
            if fresh:
                answers.update(self._write_fresh(table, fresh, auth))
        return answers

    def _taken_keys(self, table: Table, items: list[dict[str, Any]], auth: str) -> set[str] | None:
        """Keys of `items` already stored (None: the engine did not answer, ask one by one)."""
        if not items:
            return set()
        names = [name for name in (table.hash_key, table.range_key) if name]
        keys = [{name: item[name] for name in names} for item in items]
        request = {
            "RequestItems": {
                table.name: {
                    "Keys": keys,
                    "ProjectionExpression": ", ".join(f"#key{i}" for i in range(len(names))),
                    "ExpressionAttributeNames": {f"#key{i}": n for i, n in enumerate(names)},
                }
            }
        }
        response = self._call("BatchGetItem", request, auth)
        if response.status != 200:
            return None
        payload = json.loads(response.body)
        if payload.get("UnprocessedKeys"):
            return None
        found = payload.get("Responses", {}).get(table.name, [])
        return {_key_of(table, item) or "" for item in found}

    def _write_fresh(
        self, table: Table, fresh: list[tuple[int, dict[str, Any], str]], auth: str
    ) -> dict[int, _Answer]:
        request = {
            "RequestItems": {table.name: [{"PutRequest": {"Item": item}} for _, item, _ in fresh]}
        }
        response = self._batch_write_locked({table.name: table}, request, auth)
        if response.status != 200:
            kind = str(json.loads(response.body or b"{}").get("__type", "")).rpartition("#")[2]
            if kind == THROTTLED:
                return {index: _Answer.throttled(table.name) for index, _, _ in fresh}
            return {i: self._insert_one(table.name, item, auth) for i, item, _ in fresh}
        unprocessed = {
            _key_of(table, entry["PutRequest"]["Item"])
            for entry in json.loads(response.body).get("UnprocessedItems", {}).get(table.name, [])
        }
        return {
            index: _Answer.throttled(table.name)
            if key in unprocessed
            else _Answer(
                {"TableName": table.name},
                float(capacity.write_units(capacity.item_size(item))),
            )
            for index, item, key in fresh
        }

    def _insert_one(self, table_name: str, item: dict[str, Any], auth: str) -> _Answer:
        """One INSERT as a PutItem that fails when the key is taken."""
        table = self._known_table(table_name)
        names = {
            f"#key{i}": key
            for i, key in enumerate([table.hash_key, table.range_key] if table else [])
            if key
        }
        put: dict[str, Any] = {
            "TableName": table_name,
            "Item": item,
            "ReturnConsumedCapacity": "TOTAL",
        }
        if names:
            put["ConditionExpression"] = " AND ".join(f"attribute_not_exists({n})" for n in names)
            put["ExpressionAttributeNames"] = names
        response = self.handle("PutItem", json.dumps(put).encode(), put, auth)
        payload = json.loads(response.body) if response.body else {}
        if response.status == 200:
            return _Answer({"TableName": table_name}, _units_of(payload.get("ConsumedCapacity")))
        kind = str(payload.get("__type", "")).rpartition("#")[2]
        code = _STATEMENT_ERROR_CODES.get(kind, "InternalServerError")
        message = payload.get("message") or payload.get("Message") or kind
        if code == partiql_insert.DUPLICATE_ITEM:
            message = partiql_insert.DUPLICATE_ITEM_MESSAGE
        return _Answer.error(table_name, code, message)

    def _batch_item_fits(
        self,
        table: Table,
        key_value: Any,
        units: float,
        index_units: dict[str, float],
        at: float,
    ) -> bool:
        """Caller holds the lock."""
        if not table.capacity.can("write", at):
            return False
        if any(not table.indexes[name].capacity.can("write", at) for name in index_units):
            return False
        return key_value is None or table.partition(key_value, at).fits(0, units, at=at)

    def _batch_get(self, body: bytes, request: dict[str, Any], auth: str) -> Response:
        items = request["RequestItems"]
        valid = all(isinstance(v, dict) and isinstance(v.get("Keys"), list) for v in items.values())
        count = sum(len(v["Keys"]) for v in items.values()) if valid else 0
        tables = self._tables_or_passthrough(items) if valid else None
        if tables is None or not 1 <= count <= L.DYNAMODB_BATCH_GET_MAX_KEYS:
            return self.engine.call(f"{TARGET_PREFIX}.BatchGetItem", body, auth)
        admitted: dict[str, dict[str, Any]] = {}
        unprocessed: dict[str, dict[str, Any]] = {}
        estimates: dict[str, float] = {}
        throttled: dict[str, int] = {}
        with self._lock:
            admitted_at = time.time()
            for name, spec in items.items():
                table = tables[name]
                per_key = 1.0 if spec.get("ConsistentRead") else 0.5
                for key in spec["Keys"]:
                    key_value = key.get(table.hash_key) if isinstance(key, dict) else None
                    fits = True
                    if self.limits_enabled:
                        fits = table.capacity.can("read", admitted_at)
                        if fits and key_value is not None:
                            window = table.partition(key_value, admitted_at)
                            fits = window.fits(per_key, 0, at=admitted_at)
                    target = admitted if fits else unprocessed
                    target.setdefault(name, dict(spec, Keys=[]))["Keys"].append(key)
                    if not fits:
                        throttled[name] = throttled.get(name, 0) + 1
                        continue
                    table.capacity.spend("read", per_key, admitted_at)
                    if key_value is not None:
                        table.partition(key_value, admitted_at).take(per_key, 0, at=admitted_at)
                    estimates[name] = estimates.get(name, 0.0) + per_key
        for name, n in throttled.items():
            self._record(tables[name], {_READ_THROTTLES: n}, ts=admitted_at)
        if not admitted:
            for name in items:
                self._record(tables[name], {_THROTTLED_REQUESTS: 1}, ts=admitted_at)
            return self._error(THROTTLED, TABLE_THROTTLE_MESSAGE)
        forward = dict(request, RequestItems=admitted, ReturnConsumedCapacity="TOTAL")
        response = self._call("BatchGetItem", forward, auth)
        if response.status != 200:
            return response
        payload = json.loads(response.body)
        actual = {c["TableName"]: _units_of(c) for c in payload.pop("ConsumedCapacity", [])}
        for name, spec in (payload.get("UnprocessedKeys") or {}).items():
            unprocessed.setdefault(name, dict(spec, Keys=[]))["Keys"].extend(spec.get("Keys", []))
        payload["UnprocessedKeys"] = unprocessed
        consumed_list = []
        for name in admitted:
            table = tables[name]
            per_key = 1.0 if items[name].get("ConsistentRead") else 0.5
            # Each key costs at least one unit (half when eventually consistent), found or not.
            units = max(actual.get(name, 0.0), per_key * len(admitted[name]["Keys"]))
            with self._lock:
                table.capacity.spend("read", units - estimates.get(name, 0.0), admitted_at)
            self._record(table, {_CONSUMED_READ: units}, ts=admitted_at)
            self._record_provisioned(table, admitted_at)
            if request.get("ReturnConsumedCapacity") in ("TOTAL", "INDEXES"):
                consumed_list.append(
                    self._consumed_reply(table, request["ReturnConsumedCapacity"], units, {})
                )
        if consumed_list:
            payload["ConsumedCapacity"] = consumed_list
        return json_response(payload, DYNAMODB_CONTENT_TYPE, crc=True)
