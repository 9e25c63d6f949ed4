"""Kinesis in front of kinesalite: shard write/read limits, on-demand rules, stream modes,
AWS/Kinesis metrics. Requests the limits do not touch pass through unchanged."""

from __future__ import annotations

import bisect
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pipeline import aws_limits as L
from pipeline import capacity
from pipeline import metrics as M
from pipeline.local.aws import kinesis_iterators as iterators
from pipeline.local.aws import kinesis_shard_metrics as shard_metrics
from pipeline.local.aws.cloudwatch import MetricStore
from pipeline.local.aws.errors import ACCOUNT_ID, REGION, AwsError
from pipeline.local.aws.kinesis_validation import validate_put_record, validate_put_records
from pipeline.local.aws.limits import PeakTracker, SecondWindow, TokenBucket
from pipeline.local.aws.protocol import KINESIS_CONTENT_TYPE, EngineClient, Response, json_response
from pipeline.local.aws.resharding import Resharder

TARGET_PREFIX = "Kinesis_20131202"
NAMESPACE = "AWS/Kinesis"
SHARD_MAP_TTL_S = 2.0
ON_DEMAND_SHARDS = 4
THROTTLED = "ProvisionedThroughputExceededException"

_INCOMING_RECORDS = M.by_name("IncomingRecords", NAMESPACE).name
_INCOMING_BYTES = M.by_name("IncomingBytes", NAMESPACE).name
_TOTAL = M.by_name("PutRecords.TotalRecords", NAMESPACE).name
_SUCCESSFUL = M.by_name("PutRecords.SuccessfulRecords", NAMESPACE).name
_THROTTLED = M.by_name("PutRecords.ThrottledRecords", NAMESPACE).name
_WRITE_EXCEEDED = M.by_name("WriteProvisionedThroughputExceeded", NAMESPACE).name
_READ_EXCEEDED = M.by_name("ReadProvisionedThroughputExceeded", NAMESPACE).name
_ITERATOR_AGE = M.by_name("GetRecords.IteratorAgeMilliseconds", NAMESPACE).name


def write_throttle_message(shard_id: str, stream: str) -> str:
    return f"Rate exceeded for shard {shard_id} in stream {stream} under account {ACCOUNT_ID}."


def read_throttle_message(shard_id: str, stream: str) -> str:
    return f"Rate exceeded for Shard - {ACCOUNT_ID}/{stream}/{shard_id}"


def base64_length(text: str) -> int:
    """Decoded length of a base64 string without decoding it."""
    padding = text.count("=", max(0, len(text) - 2))
    return len(text) * 3 // 4 - padding


@dataclass
class Shard:
    shard_id: str
    start: int
    end: int
    writes: SecondWindow
    read_calls: SecondWindow
    read_bytes: TokenBucket


@dataclass
class Stream:
    name: str
    mode: str = "PROVISIONED"
    shards: list[Shard] = field(default_factory=list)  # open shards sorted by start
    starts: list[int] = field(default_factory=list)
    all_shards: dict[str, Shard] = field(default_factory=dict)
    loaded_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # on-demand
    records_peak: PeakTracker | None = None
    bytes_peak: PeakTracker | None = None
    key_windows: dict[str, SecondWindow] = field(default_factory=dict)
    key_second: int = 0

    def shard_for(self, hash_key: int) -> Shard | None:
        index = bisect.bisect_right(self.starts, hash_key) - 1
        if index >= 0 and self.shards[index].start <= hash_key <= self.shards[index].end:
            return self.shards[index]
        return None


def _stream_name(request: dict[str, Any]) -> str | None:
    name = request.get("StreamName")
    if name is None and isinstance(request.get("StreamARN"), str):
        name = request["StreamARN"].rsplit("/", 1)[-1]
    return name


class KinesisFront:
    def __init__(self, engine: EngineClient, metrics: MetricStore, limits_enabled: bool) -> None:
        self.engine = engine
        self.metrics = metrics
        self.limits_enabled = limits_enabled
        self._streams: dict[str, Stream] = {}
        self._modes: dict[str, str] = {}
        self._lock = threading.Lock()
        self.resharding = Resharder(
            lambda operation, request: engine.call_json(operation, TARGET_PREFIX, request),
            self._refresh,
            lambda name: self._modes.get(name, "PROVISIONED"),
        )

    def reset(self) -> None:
        self.resharding.reset()
        with self._lock:
            self._streams.clear()
            self._modes.clear()

    # ------------------------------------------------------------------ shard maps

    def _stream(self, name: str) -> Stream:
        now = time.monotonic()
        with self._lock:
            stream = self._streams.get(name)
            if stream is not None and now - stream.loaded_at < SHARD_MAP_TTL_S:
                return stream
        shards: list[dict[str, Any]] = []
        request: dict[str, Any] = {"StreamName": name}
        while True:
            page = self.engine.call_json("ListShards", TARGET_PREFIX, request)
            shards.extend(page.get("Shards", []))
            token = page.get("NextToken")
            if not token:
                break
            request = {"NextToken": token}
        with self._lock:
            stream = self._streams.get(name)
            if stream is None:
                stream = self._streams[name] = Stream(name=name)
                stream.mode = self._modes.get(name, "PROVISIONED")
                if stream.mode == "ON_DEMAND":
                    stream.records_peak = PeakTracker(
                        L.KINESIS_ON_DEMAND_INITIAL_WRITE_RECORDS_PER_S,
                        L.KINESIS_ON_DEMAND_PEAK_MULTIPLIER,
                        L.KINESIS_ON_DEMAND_PEAK_WINDOW_S,
                    )
                    stream.bytes_peak = PeakTracker(
                        L.KINESIS_ON_DEMAND_INITIAL_WRITE_BYTES_PER_S,
                        L.KINESIS_ON_DEMAND_PEAK_MULTIPLIER,
                        L.KINESIS_ON_DEMAND_PEAK_WINDOW_S,
                    )
            open_shards = []
            for raw in shards:
                shard_id = raw["ShardId"]
                shard = stream.all_shards.get(shard_id)
                if shard is None:
                    shard = stream.all_shards[shard_id] = Shard(
                        shard_id=shard_id,
                        start=int(raw["HashKeyRange"]["StartingHashKey"]),
                        end=int(raw["HashKeyRange"]["EndingHashKey"]),
                        writes=SecondWindow(
                            (L.KINESIS_SHARD_WRITE_RECORDS_PER_S, L.KINESIS_SHARD_WRITE_BYTES_PER_S)
                        ),
                        read_calls=SecondWindow((L.KINESIS_SHARD_READ_CALLS_PER_S,)),
                        read_bytes=TokenBucket(L.KINESIS_SHARD_READ_BYTES_PER_S, 1.0),
                    )
                if "EndingSequenceNumber" not in raw.get("SequenceNumberRange", {}):
                    open_shards.append(shard)
            open_shards.sort(key=lambda s: s.start)
            stream.shards = open_shards
            stream.starts = [s.start for s in open_shards]
            stream.loaded_at = now
            return stream

    def _forget(self, name: str | None) -> None:
        if name:
            with self._lock:
                self._streams.pop(name, None)

    def _refresh(self, name: str | None) -> None:
        with self._lock:
            stream = self._streams.get(name or "")
            if stream is not None:
                stream.loaded_at = 0.0

    # ------------------------------------------------------------------ dispatch

    def handle(self, operation: str, body: bytes, request: dict[str, Any], auth: str) -> Response:
        if "StreamARN" in request and "StreamName" not in request:
            # kinesalite predates StreamARN parameters: name the stream for it.
            request["StreamName"] = _stream_name(request)
            del request["StreamARN"]
            body = json.dumps(request).encode()
        if operation == "UpdateShardCount":
            reply = self.resharding.update_shard_count(request)
            return json_response(reply, KINESIS_CONTENT_TYPE)
        handler = getattr(self, f"_op_{operation}", None)
        if handler is not None:
            return handler(body, request, auth)
        response = self.engine.call(f"{TARGET_PREFIX}.{operation}", body, auth)
        if operation == "DeleteStream" and response.status == 200:
            self._forget(request.get("StreamName"))
        elif operation in ("SplitShard", "MergeShards") and response.status == 200:
            self._refresh(request.get("StreamName"))  # new shard map, same windows
        return response

    def _error(self, code: str, message: str, status: int = 400) -> Response:
        return json_response({"__type": code, "message": message}, KINESIS_CONTENT_TYPE, status)

    # ------------------------------------------------------------------ stream lifecycle

    def _op_CreateStream(self, body: bytes, request: dict[str, Any], auth: str) -> Response:
        mode = (request.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED")
        if mode not in ("PROVISIONED", "ON_DEMAND"):
            return self._error(
                "ValidationException",
                f"1 validation error detected: Value '{mode}' at 'streamModeDetails.streamMode' "
                "failed to satisfy constraint: Member must satisfy enum value set: "
                "[ON_DEMAND, PROVISIONED]",
            )
        if mode == "ON_DEMAND":
            if "ShardCount" in request:
                return self._error(
                    "ValidationException", "ShardCount must not be set for an ON_DEMAND stream."
                )
            request["ShardCount"] = ON_DEMAND_SHARDS
        request.pop("StreamModeDetails", None)
        response = self.engine.call(
            f"{TARGET_PREFIX}.CreateStream", json.dumps(request).encode(), auth
        )
        if response.status == 200:
            with self._lock:
                self._modes[request.get("StreamName", "")] = mode
                self._streams.pop(request.get("StreamName", ""), None)
        return response

    def _mode_details(self, name: str | None) -> dict[str, str]:
        return {"StreamMode": self._modes.get(name or "", "PROVISIONED")}

    def _op_DescribeStream(self, body: bytes, request: dict[str, Any], auth: str) -> Response:
        return self._with_mode(body, request, auth, "DescribeStream", "StreamDescription")

    def _op_DescribeStreamSummary(
        self, body: bytes, request: dict[str, Any], auth: str
    ) -> Response:
        return self._with_mode(
            body, request, auth, "DescribeStreamSummary", "StreamDescriptionSummary"
        )

    def _with_mode(self, body: bytes, request: dict, auth: str, op: str, key: str) -> Response:
        response = self.engine.call(f"{TARGET_PREFIX}.{op}", body, auth)
        if response.status != 200:
            return response
        payload = json.loads(response.body)
        payload[key]["StreamModeDetails"] = self._mode_details(request.get("StreamName"))
        self.resharding.overlay_status(payload[key], request.get("StreamName"))
        return json_response(payload, KINESIS_CONTENT_TYPE)

    def _op_UpdateStreamMode(self, body: bytes, request: dict[str, Any], auth: str) -> Response:
        arn = request.get("StreamARN") or ""
        name = request.get("StreamName") or arn.rsplit("/", 1)[-1]
        mode = (request.get("StreamModeDetails") or {}).get("StreamMode")
        if mode not in ("PROVISIONED", "ON_DEMAND"):
            return self._error(
                "ValidationException",
                "1 validation error detected: Value at 'streamModeDetails.streamMode' failed to "
                "satisfy constraint: Member must satisfy enum value set: [ON_DEMAND, PROVISIONED]",
            )
        self.engine.call_json("DescribeStreamSummary", TARGET_PREFIX, {"StreamName": name})
        with self._lock:
            self._modes[name] = mode
            self._streams.pop(name, None)
        return json_response({}, KINESIS_CONTENT_TYPE)

    # ------------------------------------------------------------------ writes

    def _admit(
        self, stream: Stream, shard: Shard, partition_key: str, nbytes: int, at: float
    ) -> bool:
        """Caller holds stream.lock; `at` is the instant the whole call is judged at."""
        if not self.limits_enabled:
            return True
        if stream.mode == "ON_DEMAND":
            assert stream.records_peak and stream.bytes_peak
            second = int(at)
            if second > stream.key_second:
                stream.key_second, stream.key_windows = second, {}
            key_window = stream.key_windows.get(partition_key)
            if key_window is None:
                key_window = stream.key_windows[partition_key] = SecondWindow(
                    (L.KINESIS_SHARD_WRITE_RECORDS_PER_S, L.KINESIS_SHARD_WRITE_BYTES_PER_S)
                )
            if stream.records_peak.current + 1 > stream.records_peak.allowed(at):
                return False
            if stream.bytes_peak.current + nbytes > stream.bytes_peak.allowed(at):
                return False
            if not key_window.try_take(1, nbytes, at=at):
                return False
            stream.records_peak.take(1, at)
            stream.bytes_peak.take(nbytes, at)
            return True
        return shard.writes.try_take(1, nbytes, at=at)

    @staticmethod
    def _hash(record: dict[str, Any]) -> int:
        explicit = record.get("ExplicitHashKey")
        if explicit is not None:
            return int(explicit)
        return capacity.partition_key_hash(record["PartitionKey"])

    def _route(self, stream: Stream, records: list[dict[str, Any]]) -> list[Shard]:
        """The open shard of each record; a key outside the cached map reloads it once (the
        shards changed), and a key no open shard covers then fails the call: nothing is
        written that the limits did not judge."""
        shards = [stream.shard_for(self._hash(r)) for r in records]
        if any(shard is None for shard in shards):
            self._refresh(stream.name)
            stream = self._stream(stream.name)
            shards = [stream.shard_for(self._hash(r)) for r in records]
        if any(shard is None for shard in shards):
            raise AwsError(
                "InternalFailure", f"no open shard of stream {stream.name} covers a record", 500
            )
        return [shard for shard in shards if shard is not None]

    def _op_PutRecords(self, body: bytes, request: dict[str, Any], auth: str) -> Response:
        given = request.get("Records")
        if not isinstance(given, list) or not 1 <= len(given) <= L.KINESIS_PUT_RECORDS_MAX_RECORDS:
            # A malformed call: the engine refuses it whole, in AWS's own words; nothing is written.
            return self.engine.call(f"{TARGET_PREFIX}.PutRecords", body, auth)
        records = validate_put_records(request)  # a call failing validation writes nothing
        name = request.get("StreamName")
        if not isinstance(name, str):
            return self.engine.call(f"{TARGET_PREFIX}.PutRecords", body, auth)
        sizes = [
            capacity.kinesis_record_bytes(base64_length(r["Data"]), r["PartitionKey"])
            for r in records
        ]
        if not self.limits_enabled:  # nothing to judge: forward as is, count what was stored
            admitted_at = time.time()
            response = self.engine.call(f"{TARGET_PREFIX}.PutRecords", body, auth)
            if response.status == 200:
                self._record_puts(name, len(records), len(records), sum(sizes), admitted_at)
            return response
        stream = self._stream(name)
        if sum(sizes) > L.KINESIS_PUT_RECORDS_MAX_BYTES:
            return self._error(
                "InvalidArgumentException",
                f"Records size exceeds {L.KINESIS_PUT_RECORDS_MAX_BYTES // L.MIB} MB limit",
            )
        shards = self._route(stream, records)
        results: list[dict[str, Any] | None] = [None] * len(records)
        accepted: list[int] = []
        with stream.lock:
            admitted_at = time.time()  # metrics land in the second the windows counted
            for index, (record, shard) in enumerate(zip(records, shards, strict=True)):
                assert shard is not None
                if self._admit(stream, shard, record["PartitionKey"], sizes[index], admitted_at):
                    accepted.append(index)
                else:
                    results[index] = {
                        "ErrorCode": THROTTLED,
                        "ErrorMessage": write_throttle_message(shard.shard_id, name),
                    }
        shard_ids = [shard.shard_id for shard in shards]
        if len(accepted) == len(records):
            response = self.engine.call(f"{TARGET_PREFIX}.PutRecords", body, auth)
            if response.status == 200:
                self._record_puts(name, len(records), len(records), sum(sizes), admitted_at)
                shard_metrics.record_writes(self.metrics, name, shard_ids, sizes, None, admitted_at)
            return response
        if accepted:
            forward = dict(request, Records=[records[i] for i in accepted])
            reply = self.engine.call(
                f"{TARGET_PREFIX}.PutRecords", json.dumps(forward).encode(), auth
            )
            if reply.status != 200:
                return reply
            for index, entry in zip(accepted, json.loads(reply.body)["Records"], strict=True):
                results[index] = entry
        failed = sum(1 for r in results if r is None or "ErrorCode" in r)
        ok_bytes = sum(
            sizes[i] for i, r in enumerate(results) if r is not None and "ErrorCode" not in r
        )
        payload = {"FailedRecordCount": failed, "Records": results, "EncryptionType": "NONE"}
        response = json_response(payload, KINESIS_CONTENT_TYPE)
        self._record_puts(name, len(records), len(records) - failed, ok_bytes, admitted_at)
        shard_metrics.record_writes(self.metrics, name, shard_ids, sizes, results, admitted_at)
        return response

    def _record_puts(self, name: str, total: int, ok: int, ok_bytes: int, ts: float) -> None:
        throttled = total - ok
        self.metrics.record_many(
            NAMESPACE,
            (("StreamName", name),),
            {
                _INCOMING_RECORDS: (ok, "Count"),
                _INCOMING_BYTES: (ok_bytes, "Bytes"),
                _TOTAL: (total, "Count"),
                _SUCCESSFUL: (ok, "Count"),
                _THROTTLED: (throttled, "Count"),
                _WRITE_EXCEEDED: (throttled, "Count"),
            },
            ts,
        )

    def _op_PutRecord(self, body: bytes, request: dict[str, Any], auth: str) -> Response:
        validate_put_record(request)  # a call failing validation writes nothing
        name = request.get("StreamName")
        if not isinstance(name, str):
            return self.engine.call(f"{TARGET_PREFIX}.PutRecord", body, auth)
        stream = self._stream(name)
        billed = capacity.put_record_billed_bytes(
            base64_length(request["Data"]), request["PartitionKey"]
        )
        (shard,) = self._route(stream, [request])
        with stream.lock:
            admitted_at = time.time()
            admitted = self._admit(stream, shard, request["PartitionKey"], billed, admitted_at)
        if not admitted:
            self.metrics.record_many(
                NAMESPACE, (("StreamName", name),), {_WRITE_EXCEEDED: (1, "Count")}
            )
            refused = [{"ErrorCode": THROTTLED}]
            shard_metrics.record_writes(
                self.metrics, name, [shard.shard_id], [billed], refused, admitted_at
            )
            return self._error(THROTTLED, write_throttle_message(shard.shard_id, name))
        response = self.engine.call(f"{TARGET_PREFIX}.PutRecord", body, auth)
        if response.status == 200:
            exact = capacity.kinesis_record_bytes(
                base64_length(request["Data"]), request["PartitionKey"]
            )
            self.metrics.record_many(
                NAMESPACE,
                (("StreamName", name),),
                {_INCOMING_RECORDS: (1, "Count"), _INCOMING_BYTES: (exact, "Bytes")},
                admitted_at,
            )
            shard_metrics.record_writes(
                self.metrics, name, [shard.shard_id], [exact], None, admitted_at
            )
        return response

    # ------------------------------------------------------------------ reads

    def _op_GetShardIterator(self, body: bytes, request: dict[str, Any], auth: str) -> Response:
        response = self.engine.call(f"{TARGET_PREFIX}.GetShardIterator", body, auth)
        if response.status != 200:
            return response
        payload = json.loads(response.body)
        payload["ShardIterator"] = iterators.wrap(
            payload.get("ShardIterator"), request.get("StreamName", ""), request.get("ShardId", "")
        )
        return json_response(payload, KINESIS_CONTENT_TYPE)

    def _op_GetRecords(self, body: bytes, request: dict[str, Any], auth: str) -> Response:
        given = iterators.unwrap(request.get("ShardIterator"))
        name, shard_id = given.stream, given.shard_id
        try:
            stream = self._stream(name)
        except AwsError as exc:
            if exc.code != "ResourceNotFoundException":
                raise
            # Deleted since the iterator was issued: the engine names the shard, as AWS does.
            forward = dict(request, ShardIterator=given.engine_iterator)
            return self.engine.call(
                f"{TARGET_PREFIX}.GetRecords", json.dumps(forward).encode(), auth
            )
        shard = stream.all_shards.get(shard_id)
        if shard is None:  # a shard born after the cached map
            self._refresh(name)
            stream = self._stream(name)
            shard = stream.all_shards.get(shard_id)
        if shard is not None and self.limits_enabled:
            with stream.lock:
                admitted = shard.read_bytes.has_capacity() and shard.read_calls.try_take(1)
            if not admitted:  # the iterator stays valid after a throttled call
                self.metrics.record_many(
                    NAMESPACE, (("StreamName", name),), {_READ_EXCEEDED: (1, "Count")}
                )
                shard_metrics.record_read_throttled(self.metrics, name, shard_id)
                return self._error(THROTTLED, read_throttle_message(shard_id, name))
        forward = dict(request, ShardIterator=given.engine_iterator)
        response = self.engine.call(
            f"{TARGET_PREFIX}.GetRecords", json.dumps(forward).encode(), auth
        )
        if response.status != 200:
            return response
        payload = json.loads(response.body)
        payload["NextShardIterator"] = iterators.wrap(
            payload.get("NextShardIterator"), name, shard_id
        )
        got = payload.get("Records") or []
        nbytes = sum(
            capacity.kinesis_record_bytes(base64_length(r["Data"]), r["PartitionKey"]) for r in got
        )
        if shard is not None:
            with stream.lock:
                shard.read_bytes.debit(nbytes)
        age_ms = payload.get("MillisBehindLatest", 0)
        if got:
            age_ms = max(0.0, (time.time() - float(got[-1]["ApproximateArrivalTimestamp"])) * 1000)
        self.metrics.record(
            NAMESPACE, _ITERATOR_AGE, (("StreamName", name),), age_ms, "Milliseconds"
        )
        shard_metrics.record_read(self.metrics, name, shard_id, len(got), nbytes, age_ms)
        return json_response(payload, KINESIS_CONTENT_TYPE)


__all__ = ["REGION", "KinesisFront"]
