"""The forwarder's environment variables, read and validated once at cold start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
METRIC_API_URLS: Final = {
    "US": "https://metric-api.newrelic.com/metric/v1",
    "EU": "https://metric-api.eu.newrelic.com/metric/v1",
}


class SettingsError(ValueError):
    """An environment variable of the forwarder is missing or wrong; the message names it."""


@dataclass(frozen=True)
class Resources:
    """The pipeline's resources whose metrics are forwarded."""

    environment: str
    stream_name: str
    table_name: str
    ingest_function_name: str
    api_function_name: str
    forwarder_function_name: str
    api_id: str
    dead_letter_queue_name: str  # "" when unknown: no SQS metrics
    on_failure_queue_name: str = ""  # "" when unknown: no SQS metrics for it


@dataclass(frozen=True)
class Settings:
    resources: Resources
    checkpoint_parameter: str
    metric_api_url: str
    license_key: str  # from NEW_RELIC_LICENSE_KEY; never logged
    license_key_secret: str  # Secrets Manager secret name or ARN
    payloads_file: str  # written instead of POSTing when no key is configured
    first_run_minutes: int
    max_minutes_per_run: int
    settle_seconds: int
    forward_aws_metrics: bool

    @property
    def sends_to_new_relic(self) -> bool:
        return bool(self.license_key or self.license_key_secret)

    def describe(self) -> dict[str, object]:
        """What the forwarder will do, for the cold-start log line (no secret values)."""
        if self.license_key:
            destination = f"{self.metric_api_url} (key from NEW_RELIC_LICENSE_KEY)"
        elif self.license_key_secret:
            destination = f"{self.metric_api_url} (key from secret {self.license_key_secret})"
        else:
            destination = f"file {self.payloads_file}"
        return {
            "destination": destination,
            "checkpoint_parameter": self.checkpoint_parameter,
            "resources": self.resources.__dict__,
            "max_minutes_per_run": self.max_minutes_per_run,
            "settle_seconds": self.settle_seconds,
            "forward_aws_metrics": self.forward_aws_metrics,
        }


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer {low}..{high}, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be an integer {low}..{high}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _metric_api_url(env: Mapping[str, str]) -> str:
    url = env.get("NEW_RELIC_METRIC_API_URL", "").strip()
    if url:
        if not url.startswith(("https://", "http://")):
            raise SettingsError(
                f"NEW_RELIC_METRIC_API_URL must be an http(s) URL, got {url!r} "
                f"(US: {METRIC_API_URLS['US']}, EU: {METRIC_API_URLS['EU']})"
            )
        # The license key travels in a header: in clear text only to this machine.
        if url.startswith("http://") and urlsplit(url).hostname not in LOOPBACK_HOSTS:
            raise SettingsError(
                f"NEW_RELIC_METRIC_API_URL must be https (the license key is in the request), "
                f"got {url!r}; http:// is allowed only for 127.0.0.1, localhost or [::1]"
            )
        return url
    region = env.get("NEW_RELIC_REGION", "").strip().upper() or "US"
    if region not in METRIC_API_URLS:
        raise SettingsError(f"NEW_RELIC_REGION must be US or EU, got {region!r}")
    return METRIC_API_URLS[region]


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the forwarder's settings; raise SettingsError naming every bad variable."""
    env = os.environ if env is None else env
    missing = [
        name
        for name in ("ENVIRONMENT", "STREAM_NAME", "TABLE_NAME", "API_ID")
        if not env.get(name, "").strip()
    ]
    if missing:
        raise SettingsError(
            "the forwarder needs these environment variables: " + ", ".join(missing)
        )
    environment = env["ENVIRONMENT"].strip()
    license_key = env.get("NEW_RELIC_LICENSE_KEY", "").strip()
    license_key_secret = env.get("NEW_RELIC_LICENSE_KEY_SECRET", "").strip()
    payloads_file = env.get("NEW_RELIC_PAYLOADS_FILE", "").strip()
    if not (license_key or license_key_secret or payloads_file):
        raise SettingsError(
            "set NEW_RELIC_LICENSE_KEY or NEW_RELIC_LICENSE_KEY_SECRET to send to New Relic, "
            "or NEW_RELIC_PAYLOADS_FILE to write the payloads to a file instead"
        )
    queue_name = _queue_name(env, "DLQ")
    resources = Resources(
        environment=environment,
        stream_name=env["STREAM_NAME"].strip(),
        table_name=env["TABLE_NAME"].strip(),
        ingest_function_name=env.get("INGEST_FUNCTION_NAME", "").strip()
        or f"redline-ingest-{environment}",
        api_function_name=env.get("API_FUNCTION_NAME", "").strip() or f"redline-api-{environment}",
        forwarder_function_name=env.get("FORWARDER_FUNCTION_NAME", "").strip()
        or env.get("AWS_LAMBDA_FUNCTION_NAME", "").strip()
        or f"redline-forwarder-{environment}",
        api_id=env["API_ID"].strip(),
        dead_letter_queue_name=queue_name,
        on_failure_queue_name=_queue_name(env, "ON_FAILURE_QUEUE"),
    )
    return Settings(
        resources=resources,
        checkpoint_parameter=env.get("CHECKPOINT_PARAMETER", "").strip()
        or f"/redline/{environment}/forwarder/checkpoint",
        metric_api_url=_metric_api_url(env),
        license_key=license_key,
        license_key_secret=license_key_secret,
        payloads_file=payloads_file,
        first_run_minutes=_int(env, "FORWARDER_FIRST_RUN_MINUTES", 5, 1, 60),
        max_minutes_per_run=_int(env, "FORWARDER_MAX_MINUTES_PER_RUN", 30, 1, 240),
        settle_seconds=_int(env, "FORWARDER_SETTLE_SECONDS", 60, 0, 600),
        forward_aws_metrics=_bool(env, "FORWARD_AWS_METRICS", True),
    )


def _queue_name(env: Mapping[str, str], prefix: str) -> str:
    """<prefix>_NAME, else the last part of <prefix>_URL, else ""."""
    name = env.get(f"{prefix}_NAME", "").strip()
    return name or env.get(f"{prefix}_URL", "").strip().rstrip("/").rsplit("/", 1)[-1]
