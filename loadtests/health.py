"""Is the target healthy? A dead part must stop a run, never read as saturation.

A gateway whose engine died answers 503 to every call; a load test that judged those calls
would call the failure a knee. So the controller asks each part of the target for its health
before it judges a step (and every few seconds while a phase runs): the local stack's gateway
(`/_redline/health`, which checks each engine) and Lambda runtime (`/_redline/health`); on AWS,
the API's health route. The first part that does not answer healthy stops the run (exit 3),
named with the log to read.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.local import loopback

TIMEOUT_S = 5.0
GATEWAY, RUNTIME, API = "gateway", "runtime", "api"
BROKEN_ERROR_SHARE = 0.05  # more failed calls than this, not throttled: the target is broken


@dataclass(frozen=True)
class HealthCheck:
    part: str  # gateway | runtime | api
    url: str
    log: str = ""  # the part's own log (as the run folder will hold it)
    live_log: str = ""  # the same log where the running stack writes it (read for its error)


class TargetUnhealthy(RuntimeError):
    """A part of the target is down or failing: the run is broken (exit 3), not saturated."""


def run_log_path(path: str, stack_logs: str, run_logs: str) -> str:
    """Where a stack log will be in the run folder (the stack's logs are copied there)."""
    try:
        return str(Path(run_logs) / Path(path).relative_to(stack_logs))
    except ValueError:
        return path


def _get(url: str) -> tuple[int | None, Any, str]:
    """(HTTP status or None when nothing answered, JSON body or None, error text)."""
    try:
        if urlsplit(url).hostname in loopback.LOOPBACK_HOSTS:
            # control routes need the stack's token (inherited from `make loadtest`)
            status, raw = loopback.request(
                url, timeout_s=TIMEOUT_S, token=loopback.token_from_env()
            )
        else:
            with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310  # nosec B310
                status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        return None, None, str(getattr(exc, "reason", exc))
    try:
        return status, json.loads(raw or b"null"), ""
    except ValueError:
        return status, None, ""


class HealthMonitor:
    """Checks every part each time it is asked. A part that refuses the connection, or
    answers unhealthy, stops the run at once; a part that times out three checks in a row
    (a dead one refuses at once; a busy one is slow), and the API's health route answering
    5xx three times in a row (a throttled Lambda behind it answers 5xx too), stop it too."""

    API_5XX_IN_A_ROW = 3
    TIMEOUTS_IN_A_ROW = 3

    def __init__(self, checks: list[HealthCheck], stack_logs: str = "", run_logs: str = ""):
        self.checks = checks
        self.stack_logs = stack_logs
        self.run_logs = run_logs
        self._api_failures = 0
        self._timeouts: dict[str, int] = {}

    def check(self) -> None:
        """Raise TargetUnhealthy naming the first part that is not healthy, and its log."""
        for item in self.checks:
            status, body, error = _get(item.url)
            if status is None and "timed out" in error:
                # slow, not dead (a saturated 2-core machine): three in a row to fail
                self._timeouts[item.part] = self._timeouts.get(item.part, 0) + 1
                if self._timeouts[item.part] < self.TIMEOUTS_IN_A_ROW:
                    continue
            else:
                self._timeouts[item.part] = 0
            if status is None:
                last = self._last_error(item)
                raise TargetUnhealthy(
                    f"{item.part} is not answering ({item.url}: {error})"
                    + (f"; it said: {last}" if last else "")
                    + f"; its log: {item.log}"
                )
            if item.part == GATEWAY and isinstance(body, dict):
                self._check_engines(item, status, body)
            if item.part == API:
                self._api_failures = self._api_failures + 1 if status >= 500 else 0
                if self._api_failures < self.API_5XX_IN_A_ROW:
                    continue
            elif status == 200:
                continue
            raise TargetUnhealthy(
                f"{item.part} answers HTTP {status} at {item.url}; its log: {item.log}"
            )

    def data_plane(self) -> str:
        """The part that answers the producers' calls, as an error names it: the local
        gateway with its log, or AWS's Kinesis when the run has no gateway."""
        gateway = next((c for c in self.checks if c.part == GATEWAY), None)
        if gateway is None:
            return "Kinesis (the AWS endpoint)"
        return f"the {GATEWAY} (its log: {gateway.log})"

    def _last_error(self, item: HealthCheck) -> str:
        """The part's last `error:` line (e.g. the gateway names the engine that died), with
        the stack's log paths shown where the run folder will keep them."""
        if not item.live_log:
            return ""
        try:
            lines = Path(item.live_log).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        last = next((line for line in reversed(lines) if line.startswith("error:")), "")
        if last and self.stack_logs and self.run_logs:
            last = last.replace(self.stack_logs, self.run_logs)
        return last.removeprefix("error:").strip()

    def _check_engines(self, item: HealthCheck, status: int, body: dict[str, Any]) -> None:
        for engine, state in (body.get("checks") or {}).items():
            if isinstance(state, dict) and not state.get("ok", True):
                log = run_log_path(str(state.get("log", "")), self.stack_logs, self.run_logs)
                raise TargetUnhealthy(
                    f"{engine} (behind the gateway) is down: the gateway answers"
                    f" HTTP {status} at {item.url}; its log: {log or item.log}"
                )


def check_errors(offered: int, failures: int, what: str, part: str = "") -> None:
    """Records refused by errors other than throttles (HTTP 5xx, no answer) are a broken
    target, never a throttle: stop the run rather than judge them as capacity. `part` names
    the part that answered them (and its log)."""
    if offered and failures > offered * BROKEN_ERROR_SHARE:
        raise TargetUnhealthy(
            (f"{part}: " if part else "")
            + f"{failures} of {offered} {what} records failed with errors other than throttling"
            " (HTTP 5xx or no answer): the target is broken, not saturated"
        )
