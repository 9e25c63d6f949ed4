"""Delivery to New Relic's Metric API (or, without a key, to a payloads file).

The Metric API's rules (docs/aws-limits.md): at most 1 MB a POST; 202 accepted;
400/403 drop; 408 and 5xx retry with backoff; 413 split the batch and retry down to one
point; 429 wait Retry-After. urllib3 sends; the retry loop is ours because it must fit the
invocation's remaining time and tell which points were accepted.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import urllib3
from aws_lambda_powertools import Logger
from urllib3.util import Retry

from pipeline import aws_limits as limits

from .points import MinuteBlock, Point

logger = Logger(child=True)

BACKOFF_BASE_S: Final = 1.0
BACKOFF_MAX_S: Final = 16.0
REQUEST_TIMEOUT_S: Final = 20.0
REASON_CHARS: Final = 300


class LicenseKeyError(RuntimeError):
    """The license key cannot be had; the message says why (never the key)."""


class LicenseKeySource:
    """The key from NEW_RELIC_LICENSE_KEY, or from the Secrets Manager secret named by
    NEW_RELIC_LICENSE_KEY_SECRET (value {"LicenseKey": "..."}), read once and cached."""

    def __init__(self, key: str = "", secret_name: str = "", secrets_client: Any = None):
        self._key = key
        self._secret_name = secret_name
        self._secrets = secrets_client

    def get(self) -> str:
        if not self._key:
            self._key = self._read_secret()
        return self._key

    def refresh(self) -> str | None:
        """Read the secret again (after New Relic refused the key: it may have been rotated);
        the new key, or None when it cannot change (a key from the environment, or the same)."""
        if not self._secret_name:
            return None
        old, self._key = self._key, self._read_secret()
        return self._key if self._key != old else None

    def _read_secret(self) -> str:
        name = self._secret_name
        if not name or self._secrets is None:
            raise LicenseKeyError("no New Relic license key: NEW_RELIC_LICENSE_KEY_SECRET is unset")
        try:
            raw = self._secrets.get_secret_value(SecretId=name).get("SecretString")
        except self._secrets.exceptions.ResourceNotFoundException:
            raise LicenseKeyError(
                f"New Relic license key secret {name!r} does not exist "
                "(NEW_RELIC_LICENSE_KEY_SECRET); create it with the value "
                '{"LicenseKey": "<your license key>"}'
            ) from None
        except Exception as exc:  # AccessDenied, decryption, endpoint: name the cause
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
            raise LicenseKeyError(
                f"cannot read New Relic license key secret {name!r}: {code}"
            ) from None
        try:
            key = json.loads(raw or "").get("LicenseKey")
        except (ValueError, AttributeError):
            key = None
        if not isinstance(key, str) or not key.strip():
            raise LicenseKeyError(
                f"New Relic license key secret {name!r} is malformed: its value must be JSON "
                '{"LicenseKey": "<your license key>"} with a non-empty string'
            )
        return key.strip()


@dataclass
class DeliveryStats:
    posts: int = 0
    accepted_points: int = 0
    dropped_points: int = 0
    retries: int = 0
    waited_s: float = 0.0
    body_bytes: list[int] = field(default_factory=list)  # uncompressed JSON of each POST
    sent_bytes: list[int] = field(default_factory=list)  # what went on the wire
    statuses: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Item:
    """One point of one minute, in delivery order."""

    block: MinuteBlock
    point: Point


def encode_body(items: Sequence[Item]) -> bytes:
    """A Metric API body: one {"common", "metrics"} element per minute of the items."""
    body: list[dict[str, Any]] = []
    current: MinuteBlock | None = None
    for item in items:
        if item.block is not current:
            current = item.block
            body.append({"common": current.common(), "metrics": []})
        body[-1]["metrics"].append(item.point)
    return json.dumps(body, separators=(",", ":")).encode()


def pack(
    items: Sequence[Item], max_bytes: int = limits.NEW_RELIC_MAX_POST_BYTES
) -> list[list[Item]]:
    """Consecutive slices whose bodies stay within max_bytes (uncompressed: the stricter
    reading of the 1 MB rule). A point too big on its own gets a slice of its own."""
    slices: list[list[Item]] = []
    current: list[Item] = []
    size = 2  # "[]"
    block_overhead = 0
    for item in items:
        point_size = len(json.dumps(item.point, separators=(",", ":"))) + 1
        new_block = not current or current[-1].block is not item.block
        if new_block:
            block_overhead = len(json.dumps(item.block.common(), separators=(",", ":"))) + 30
        extra = point_size + (block_overhead if new_block else 0)
        if current and size + extra > max_bytes:
            slices.append(current)
            current, size = [], 2
            extra = point_size + block_overhead
        current.append(item)
        size += extra
    if current:
        slices.append(current)
    return slices


class Sender(Protocol):
    def deliver(self, items: Sequence[Item], deadline: float) -> int:
        """Deliver the items in order; return how many (from the start) are done."""
        ...


class PayloadFileSink:
    """No key: append each body that would be POSTed, one JSON line each."""

    def __init__(self, path: str | Path, stats: DeliveryStats | None = None):
        self.path = Path(path)
        self.stats = stats or DeliveryStats()

    def deliver(self, items: Sequence[Item], deadline: float) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            for part in pack(items):
                body = encode_body(part)
                out.write(body.decode() + "\n")
                self.stats.posts += 1
                self.stats.body_bytes.append(len(body))
                self.stats.accepted_points += len(part)
        return len(items)


class MetricApiClient:
    """POSTs to the Metric API with the delivery rules; clock and sleep are injectable."""

    def __init__(
        self,
        url: str,
        license_key: LicenseKeySource,
        pool: urllib3.PoolManager | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        stats: DeliveryStats | None = None,
        max_bytes: int = limits.NEW_RELIC_MAX_POST_BYTES,
    ):
        self.url = url
        self.license_key = license_key
        self.pool = pool or urllib3.PoolManager(retries=False)
        self.clock = clock
        self.sleep = sleep
        self.stats = stats or DeliveryStats()
        self.max_bytes = max_bytes
        self._stopped = False
        self._key_reread = False

    def deliver(self, items: Sequence[Item], deadline: float) -> int:
        self.license_key.get()  # raises LicenseKeyError before anything is sent
        self._stopped = False
        self._key_reread = False
        done = 0
        for part in pack(items, self.max_bytes):
            sent = self._send(part, self.license_key.get(), deadline)
            done += sent
            if sent < len(part):
                break
        return done

    def _post(self, body: bytes, key: str, deadline: float) -> tuple[int, dict[str, str], str]:
        compressed = gzip.compress(body, mtime=0)
        self.stats.posts += 1
        self.stats.body_bytes.append(len(body))
        self.stats.sent_bytes.append(len(compressed))
        timeout = max(1.0, min(REQUEST_TIMEOUT_S, deadline - self.clock()))
        response = self.pool.request(
            "POST",
            self.url,
            body=compressed,
            headers={
                "Api-Key": key,
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
            },
            timeout=urllib3.Timeout(total=timeout),
            retries=False,
            redirect=False,
        )
        text = response.data[:REASON_CHARS].decode("utf-8", "replace")
        self.stats.statuses.append(response.status)
        return response.status, dict(response.headers), text

    def _wait(self, seconds: float, deadline: float, why: str) -> bool:
        """Sleep unless that would pass the deadline; False means: stop for this run."""
        if self.clock() + seconds > deadline:
            logger.warning(
                f"{why}: waiting {seconds:.1f} s would pass this run's time; "
                "the points stay for the next run"
            )
            return False
        self.sleep(seconds)
        self.stats.waited_s += seconds
        self.stats.retries += 1
        return True

    def _send(self, items: list[Item], key: str, deadline: float) -> int:
        body = encode_body(items)
        attempt = 0
        while True:
            if self.clock() >= deadline:
                return 0
            try:
                status, headers, reason = self._post(body, key, deadline)
            except urllib3.exceptions.HTTPError as exc:
                status, headers, reason = 0, {}, type(exc).__name__
            if 200 <= status < 300:
                self.stats.accepted_points += len(items)
                return len(items)
            if status == 413:
                if len(items) == 1:
                    logger.error(
                        f"dropped one point New Relic refuses as too large (413): "
                        f"{items[0].point.get('name')} at {items[0].block.minute}, "
                        f"{len(body)} bytes"
                    )
                    self.stats.dropped_points += 1
                    return 1
                half = len(items) // 2
                logger.info(f"New Relic answered 413 for {len(items)} points: splitting in two")
                first = self._send(items[:half], key, deadline)
                if first < half:
                    return first
                return half + self._send(items[half:], key, deadline)
            if status == 429:
                header = {k.lower(): v for k, v in headers.items()}.get("retry-after")
                wait = Retry().parse_retry_after(header) if header else None
                if wait is None:
                    wait = min(BACKOFF_BASE_S * 2**attempt, BACKOFF_MAX_S)
                attempt += 1
                if not self._wait(wait, deadline, "New Relic answered 429"):
                    return 0
                continue
            if status in (401, 403) and not self._key_reread:
                self._key_reread = True  # once a run: a wrong key must not loop
                fresh = self.license_key.refresh()
                if fresh is not None:
                    logger.warning(
                        f"New Relic refused the license key ({status}); the secret holds "
                        "another key now: sending again with it"
                    )
                    key = fresh
                    continue
            if status in (401, 403):
                logger.error(
                    f"New Relic refused the license key ({status}): {reason!r}; nothing is "
                    "retried, the points stay for the next run (check NEW_RELIC_LICENSE_KEY / "
                    "the secret and the endpoint's region)"
                )
                return 0
            if status == 408 or status >= 500 or status == 0:
                wait = min(BACKOFF_BASE_S * 2**attempt, BACKOFF_MAX_S)
                attempt += 1
                if not self._wait(wait, deadline, f"New Relic answered {status or reason}"):
                    return 0
                continue
            # 400 and any other 4xx: the body itself is refused; sending it again cannot help.
            logger.error(f"dropped {len(items)} points: New Relic answered {status}: {reason!r}")
            self.stats.dropped_points += len(items)
            return len(items)
