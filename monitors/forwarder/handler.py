"""The metrics forwarder Lambda: every minute, CloudWatch -> New Relic's Metric API.

Thin handler: settings and clients are made once at cold start; the work is in
`forward.forward_once`. Environment variables: see docs/monitors.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

import boto3
import urllib3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from .forward import forward_once
from .newrelic import DeliveryStats, LicenseKeySource, MetricApiClient, PayloadFileSink, Sender
from .settings import Settings, load_settings

# Time kept back from the invocation's remaining time to write the checkpoint and return.
RESERVE_S: Final = 3.0

logger = Logger()
settings = load_settings()  # a missing or bad variable fails the cold start, naming it
cloudwatch = boto3.client("cloudwatch")
ssm = boto3.client("ssm")
license_key = LicenseKeySource(
    key=settings.license_key,
    secret_name=settings.license_key_secret,
    secrets_client=boto3.client("secretsmanager") if settings.license_key_secret else None,
)
pool = urllib3.PoolManager(retries=False)
logger.info("forwarder settings", extra=settings.describe())


def make_sender(
    settings: Settings,
    license_key: LicenseKeySource,
    pool: urllib3.PoolManager,
    stats: DeliveryStats,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Sender:
    if settings.sends_to_new_relic:
        return MetricApiClient(
            settings.metric_api_url, license_key, pool=pool, clock=clock, sleep=sleep, stats=stats
        )
    return PayloadFileSink(settings.payloads_file, stats=stats)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - RESERVE_S
    stats = DeliveryStats()
    sender = make_sender(settings, license_key, pool, stats)
    result = forward_once(settings, cloudwatch, ssm, sender, time.time(), deadline)
    summary = result.as_dict() | {
        "posts": stats.posts,
        "dropped_points": stats.dropped_points,
        "retries": stats.retries,
        "payload_bytes": stats.body_bytes,
    }
    logger.info("forwarding pass", extra=summary)
    return summary
