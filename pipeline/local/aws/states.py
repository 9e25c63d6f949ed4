"""How long streams and tables stay CREATING, UPDATING and DELETING on the local stack.

REDLINE_AWS_STATE_DURATIONS (environment of the gateway process):

- `instant` (default): ACTIVE at once, so tests and load runs never wait for a waiter's poll.
- `aws`: AWS-like durations, so a client that waits for ACTIVE (boto3's waiters, the SDKs',
  Terraform's) is exercised as against AWS. AWS documents no duration for these transitions;
  the values below are our choice, in the range AWS takes for a small stream or table.
- a number of seconds (e.g. `2`): every transition takes that long.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pipeline.local.aws.engines import EngineError

SETTING = "REDLINE_AWS_STATE_DURATIONS"
DEFAULT = "instant"
# Seconds per transition in `aws` mode (our choice: AWS documents none).
AWS_LIKE_SECONDS = {
    "kinesis": {"create": 10.0, "delete": 10.0, "update": 10.0},
    "dynamodb": {"create": 5.0, "delete": 5.0, "update": 5.0},
}
OPTION_NAMES = {
    "kinesis": {"create": "createStreamMs", "delete": "deleteStreamMs", "update": "updateStreamMs"},
    "dynamodb": {"create": "createTableMs", "delete": "deleteTableMs", "update": "updateTableMs"},
}
MAX_SECONDS = 600.0


def durations(service: str, env: Mapping[str, str] = os.environ) -> dict[str, float]:
    """Seconds each transition takes for `service` ("kinesis" or "dynamodb")."""
    raw = env.get(SETTING, DEFAULT).strip().lower()
    if raw == "instant":
        return {step: 0.0 for step in OPTION_NAMES[service]}
    if raw == "aws":
        return dict(AWS_LIKE_SECONDS[service])
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= MAX_SECONDS:
        raise EngineError(
            f"{SETTING}={env.get(SETTING)!r}: expected instant, aws, or a number of seconds "
            f"from 0 to {MAX_SECONDS:g}"
        )
    return {step: seconds for step in OPTION_NAMES[service]}


def engine_options(service: str, env: Mapping[str, str] = os.environ) -> dict[str, int]:
    """The engine's own options for those durations (kinesalite's and dynalite's `*Ms`)."""
    return {
        OPTION_NAMES[service][step]: round(seconds * 1000)
        for step, seconds in durations(service, env).items()
    }


__all__ = ["SETTING", "durations", "engine_options"]
