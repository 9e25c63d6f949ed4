"""What the `scaling` and `reshard` scenarios add to a run: UpdateShardCount calls at planned
moments (timed on the client side), the auto scaling activities of the run window, and the
per-partition-key order audit of what was stored. All of it lands in the run folder's
scaling.json, which the report reads."""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from loadtests.runconfig import Endpoints

SCALING_JSON = "scaling.json"
ACTIVE_TIMEOUT_S = 600.0
MAX_SCAN_PAGES = 100_000
# loadtests.control.WARMUP_MAX_S (a test keeps them equal): not imported, because control
# imports gevent and this module runs in the CLI's process.
WARMUP_OFFSET_S = 30.0
CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, read_timeout=30)


def _client(service: str, endpoints: Endpoints) -> Any:
    return boto3.client(
        service,
        region_name=endpoints.region,
        endpoint_url=endpoints.aws_endpoint_url,
        config=CONFIG,
    )


@dataclass
class ReshardCall:
    target: int
    requested_at: float
    active_at: float | None = None
    current: int | None = None
    error: str | None = None

    @property
    def seconds(self) -> float | None:
        return None if self.active_at is None else self.active_at - self.requested_at


@dataclass
class Resharder:
    """Calls UpdateShardCount at fractions of the run: plan = ((fraction, factor), ...), the
    factor applied to the shard count open at that moment (2.0 doubles, 0.5 halves)."""

    endpoints: Endpoints
    plan: tuple[tuple[float, float], ...]
    duration_s: float
    offset_s: float = 0.0
    calls: list[ReshardCall] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name="resharder")
        self._thread.start()

    def wait(self, timeout_s: float) -> None:
        """Until every planned call has run (or the timeout)."""
        if self._thread is not None:
            self._thread.join(timeout_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(ACTIVE_TIMEOUT_S)

    def _open_shards(self, kinesis: Any) -> int:
        summary = kinesis.describe_stream_summary(StreamName=self.endpoints.stream_name)
        return int(summary["StreamDescriptionSummary"]["OpenShardCount"])

    def _run(self) -> None:
        kinesis = _client("kinesis", self.endpoints)
        # The plan is over the steady phase, which starts once the warm-up (at most
        # WARMUP_MAX_S) is over: count from its latest start.
        started = time.time() + self.offset_s
        for fraction, factor in self.plan:
            if self._stop.wait(max(0.0, started + fraction * self.duration_s - time.time())):
                return
            current = self._open_shards(kinesis)
            call = ReshardCall(max(1, math.ceil(current * factor)), time.time(), current=current)
            self.calls.append(call)
            try:
                kinesis.update_shard_count(
                    StreamName=self.endpoints.stream_name,
                    TargetShardCount=call.target,
                    ScalingType="UNIFORM_SCALING",
                )
                deadline = time.monotonic() + ACTIVE_TIMEOUT_S
                while time.monotonic() < deadline and not self._stop.is_set():
                    summary = kinesis.describe_stream_summary(
                        StreamName=self.endpoints.stream_name
                    )["StreamDescriptionSummary"]
                    if summary["StreamStatus"] == "ACTIVE":
                        call.active_at = time.time()
                        break
                    time.sleep(0.1)
            except Exception as exc:  # reported in scaling.json and as a run problem
                call.error = str(exc)

    def to_dict(self) -> list[dict[str, Any]]:
        return [dict(asdict(c), seconds=c.seconds) for c in self.calls]


def scaling_activities(endpoints: Endpoints, start: float, end: float) -> list[dict[str, Any]]:
    """Application Auto Scaling's activities for the table and its indexes in [start, end]."""
    client = _client("application-autoscaling", endpoints)
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ServiceNamespace": "dynamodb"}
    for _page in range(1000):
        reply = client.describe_scaling_activities(**kwargs)
        for activity in reply.get("ScalingActivities", []):
            if not activity["ResourceId"].startswith(f"table/{endpoints.table_name}"):
                continue
            stamp = activity["StartTime"].timestamp()
            if start - 60 <= stamp <= end + 60:
                item = {k: v for k, v in activity.items() if k not in ("StartTime", "EndTime")}
                item["StartTime"] = stamp
                if activity.get("EndTime"):
                    item["EndTime"] = activity["EndTime"].timestamp()
                found.append(item)
        if not reply.get("NextToken"):
            break
        kwargs["NextToken"] = reply["NextToken"]
    return sorted(found, key=lambda a: a["StartTime"])


def order_audit(endpoints: Endpoints, prefix: str) -> dict[str, Any]:
    """Per partition key (carried in the payload), the stored items in store order must have
    non-decreasing Kinesis arrival times: a child shard read before its parent shows up as a
    later-stored item that arrived earlier."""
    dynamodb = _client("dynamodb", endpoints)
    kwargs: dict[str, Any] = {
        "TableName": endpoints.table_name,
        "ProjectionExpression": "event_id, stored_at, arrived_at, payload.#k",
        "FilterExpression": "begins_with(event_id, :prefix)",
        "ExpressionAttributeNames": {"#k": "key"},
        "ExpressionAttributeValues": {":prefix": {"S": prefix}},
    }
    by_key: dict[str, list[tuple[float, float, str]]] = {}
    for _page in range(MAX_SCAN_PAGES):
        reply = dynamodb.scan(**kwargs)
        for item in reply.get("Items", []):
            key = item.get("payload", {}).get("M", {}).get("key", {}).get("S")
            if key is None or "stored_at" not in item or "arrived_at" not in item:
                continue
            by_key.setdefault(key, []).append(
                (
                    float(item["stored_at"]["N"]),
                    float(item["arrived_at"]["N"]),
                    item["event_id"]["S"],
                )
            )
        if "LastEvaluatedKey" not in reply:
            break
        kwargs["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
    violations: list[dict[str, Any]] = []
    for key, items in by_key.items():
        items.sort()
        latest_arrival = -math.inf
        for stored_at, arrived_at, event_id in items:
            if arrived_at < latest_arrival:
                violations.append(
                    {
                        "key": key,
                        "event_id": event_id,
                        "stored_at": stored_at,
                        "arrived_at": arrived_at,
                    }
                )
            latest_arrival = max(latest_arrival, arrived_at)
    return {
        "keys": len(by_key),
        "keys_with_several_records": sum(1 for v in by_key.values() if len(v) > 1),
        "items": sum(len(v) for v in by_key.values()),
        "violations": len(violations),
        "samples": violations[:20],
    }


def write_scaling(run_dir: Path, payload: dict[str, Any]) -> None:
    (run_dir / SCALING_JSON).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def start_resharder(endpoints: Endpoints, scenario: Any) -> Resharder | None:
    plan = tuple(tuple(step) for step in (getattr(scenario, "reshard_plan", ()) or ()))
    if not plan:
        return None
    resharder = Resharder(
        endpoints,
        plan,  # type: ignore[arg-type]
        float(scenario.duration_s),
        offset_s=WARMUP_OFFSET_S,
    )
    resharder.start()
    return resharder


def _gateway_scaling(endpoints: Endpoints) -> dict[str, Any]:
    """The local gateway's knobs (policy minute, apply delay, burst); {} on AWS."""
    from pipeline.local import loopback

    if not endpoints.aws_endpoint_url:
        return {}
    token = loopback.token_from_env()  # control routes answer only the stack's own clients
    try:
        status, body = loopback.request(
            f"{endpoints.aws_endpoint_url}/_redline/scaling", timeout_s=10, token=token
        )
        scaling = json.loads(body).get("autoscaling", {}) if status == 200 else {}
        status, body = loopback.request(
            f"{endpoints.aws_endpoint_url}/_redline/config", timeout_s=10, token=token
        )
        burst = json.loads(body).get("burst_seconds") if status == 200 else None
    except (OSError, ValueError):
        return {}
    if not scaling or burst is None:
        print(
            f"warning: the local gateway did not give its scaling knobs (HTTP {status}):"
            " the report assumes AWS's 60 s policy minute and 300 s burst",
            flush=True,
        )
    return {
        "minute_s": scaling.get("minute_s"),
        "apply_delay_s": scaling.get("apply_delay_s"),
        "burst_seconds": burst,
    }


def finish(
    endpoints: Endpoints,
    scenario: Any,
    autoscaling_enabled: bool,
    run_dir: Path,
    prefix: str,
    start: float,
    end: float,
    resharder: Resharder | None,
) -> list[str]:
    """Write scaling.json for a run that resharded or ran with auto scaling; the problems
    (order violations, failed UpdateShardCount calls) come back for the run's verdict."""
    if resharder is None and not autoscaling_enabled:
        return []
    problems: list[str] = []
    payload: dict[str, Any] = {"scenario": scenario.name, **_gateway_scaling(endpoints)}
    if autoscaling_enabled:
        try:
            payload["ScalingActivities"] = scaling_activities(endpoints, start, end)
        except Exception as exc:
            problems.append(f"scaling activities not read: {exc}")
    if resharder is not None:
        resharder.stop()
        payload["reshards"] = resharder.to_dict()
        problems += [
            f"UpdateShardCount to {c.target} failed: {c.error}" for c in resharder.calls if c.error
        ]
        try:
            order = order_audit(endpoints, prefix)
            payload["order"] = order
            if order["violations"]:
                problems.append(
                    f"{order['violations']} records stored out of per-partition-key order"
                )
        except Exception as exc:
            problems.append(f"order audit failed: {exc}")
    write_scaling(run_dir, payload)
    return problems
