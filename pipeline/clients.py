"""botocore settings shared by the handlers' clients."""

from __future__ import annotations

from botocore.config import Config

# botocore's standard mode: exponential backoff with jitter on throttling and transient
# errors, and a retry quota; 3 attempts in all per call.
RETRY_ATTEMPTS = 3


def handler_client_config(read_timeout_s: float) -> Config:
    """Standard retries with short timeouts, so one call cannot eat an invocation's budget."""
    return Config(
        retries={"mode": "standard", "max_attempts": RETRY_ATTEMPTS},
        connect_timeout=2,
        read_timeout=read_timeout_s,
    )
