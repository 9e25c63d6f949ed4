"""Who may call the local AWS endpoint: the stack's one set of credentials, how strictly
signatures are checked, and the answer each AWS service gives a refused signature.

Settings (environment of the gateway process; documented in docs/local-aws.md):

- REDLINE_AWS_AUTH: `sigv4` (default: every AWS call must carry a valid SigV4 signature made
  with the stack's credentials, as AWS requires), `any-key` (the signature must be complete,
  current and scoped to the right service and region, but any access key is accepted and only
  the stack's own key has its signature checked: for tools that invent credentials), `off`
  (nothing checked, the gateway's behaviour before SigV4 checks existed).
- REDLINE_AWS_ACCESS_KEY_ID / REDLINE_AWS_SECRET_ACCESS_KEY: the stack's credentials
  (default `test` / `test`, what every Redline tool and test signs with locally).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import botocore.session

from pipeline.local.aws.errors import REGION, AwsError
from pipeline.local.sigv4 import SigV4Error, verify_sigv4

logger = logging.getLogger("redline.gateway.auth")

AUTH_MODES = ("sigv4", "any-key", "off")
DEFAULT_AUTH_MODE = "sigv4"
LOCAL_ACCESS_KEY_ID = "test"
LOCAL_SECRET_ACCESS_KEY = "test"  # noqa: S105 - the local stack's documented dummy secret

# What AWS's JSON services answer for each refusal (HTTP 400 for all of them: Kinesis and
# DynamoDB answer an expired signature with 400 InvalidSignatureException, not 403).
ERROR_TYPES = {
    "missing": "MissingAuthenticationTokenException",
    "incomplete": "IncompleteSignatureException",
    "bad_signature": "InvalidSignatureException",
    "expired": "InvalidSignatureException",
    "wrong_scope": "InvalidSignatureException",
    "unknown_key": "UnrecognizedClientException",
}


class AuthSettingError(ValueError):
    """A setting has a value the gateway cannot use; the message names it and what is allowed."""


@dataclass(frozen=True)
class AuthSettings:
    mode: str = DEFAULT_AUTH_MODE
    access_key_id: str = LOCAL_ACCESS_KEY_ID
    secret_access_key: str = LOCAL_SECRET_ACCESS_KEY
    region: str = REGION

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> AuthSettings:
        mode = env.get("REDLINE_AWS_AUTH", DEFAULT_AUTH_MODE).strip().lower()
        if mode not in AUTH_MODES:
            raise AuthSettingError(
                f"REDLINE_AWS_AUTH={env.get('REDLINE_AWS_AUTH')!r} is not a signature check "
                f"mode: expected one of {', '.join(AUTH_MODES)}"
            )
        access_key = env.get("REDLINE_AWS_ACCESS_KEY_ID", LOCAL_ACCESS_KEY_ID)
        secret = env.get("REDLINE_AWS_SECRET_ACCESS_KEY", LOCAL_SECRET_ACCESS_KEY)
        for name, value in (
            ("REDLINE_AWS_ACCESS_KEY_ID", access_key),
            ("REDLINE_AWS_SECRET_ACCESS_KEY", secret),
        ):
            if not value:
                raise AuthSettingError(f"{name} is empty: set it or unset it (default 'test')")
        return cls(mode=mode, access_key_id=access_key, secret_access_key=secret)

    def describe(self) -> dict[str, str]:
        """For /_redline/config: never the secret."""
        return {"mode": self.mode, "access_key_id": self.access_key_id, "region": self.region}


@cache
def operation_names(service: str) -> frozenset[str]:
    """The operations botocore's model knows for a service (AWS checks a signature only once
    it knows the operation; an unknown one is answered UnknownOperationException first)."""
    return frozenset(botocore.session.get_session().get_service_model(service).operation_names)


def local_credentials(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The environment variables a process needs to sign like any AWS client for this stack."""
    settings = AuthSettings.from_env(env)
    return {
        "AWS_ACCESS_KEY_ID": settings.access_key_id,
        "AWS_SECRET_ACCESS_KEY": settings.secret_access_key,
    }


def aws_error(reason: str, message: str) -> AwsError:
    # The type is bare: each protocol names it (DynamoDB: com.amazon.coral.service#...).
    return AwsError(ERROR_TYPES[reason], message, 400)


def authenticate(
    settings: AuthSettings,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    service: str,
) -> None:
    """Raise the AwsError the service would answer if the request's signature is refused."""
    if settings.mode == "off":
        return

    def secret_for(access_key: str) -> str | None:
        return settings.secret_access_key if access_key == settings.access_key_id else None

    try:
        verify_sigv4(
            method,
            path,
            query,
            headers,
            body,
            secret_for=secret_for,
            service=service,
            region=settings.region,
            now=time.time(),
        )
    except SigV4Error as exc:
        if exc.reason == "unknown_key" and settings.mode == "any-key":
            return
        logger.info("refused a %s call: %s (%s)", service, exc.reason, exc.message.split("\n")[0])
        raise aws_error(exc.reason, exc.message) from exc


__all__ = ["AUTH_MODES", "AuthSettingError", "AuthSettings", "authenticate", "local_credentials"]
