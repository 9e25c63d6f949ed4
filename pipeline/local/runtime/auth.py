"""Authorization on the local HTTP API as API Gateway does it, before the function runs.

- AWS_IAM: each request's SigV4 signature (service execute-api, the environment's region) is
  checked against the local credentials; a refusal is 403 {"message": ...} with API Gateway's
  wording (a request with no signature at all: "Forbidden").
- JWT: `Authorization: Bearer <token>` validated against the local issuer (signature, issuer,
  audience, expiry); a refusal is 401 {"message":"Unauthorized"} with a WWW-Authenticate header.
- NONE: every request passes (the loader allows it only in local environments).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pipeline.local.jwt_issuer import JwtError, LocalIssuer
from pipeline.local.sigv4 import SigV4Error, verify_sigv4

Denial = tuple[int, list[tuple[str, str]], dict[str, Any]]


@dataclass
class ApiAuthorizer:
    auth_type: str  # NONE | AWS_IAM | JWT
    region: str
    credentials: Mapping[str, str]  # access key id -> secret access key (AWS_IAM)
    issuer: LocalIssuer | None = None  # JWT
    audiences: tuple[str, ...] = ()
    account_id: str = "000000000000"
    clock: Callable[[], float] = time.time

    def authorize(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[Denial | None, dict[str, Any] | None]:
        """(denial, None) when refused, else (None, the event's requestContext.authorizer)."""
        if self.auth_type == "AWS_IAM":
            return self._iam(method, target, headers, body)
        if self.auth_type == "JWT":
            return self._jwt(headers)
        return None, None

    def _iam(self, method, target, headers, body):
        split = urlsplit(target)
        try:
            verify_sigv4(
                method,
                split.path,
                split.query,
                dict(headers),
                body,
                secret_for=self.credentials.get,
                service="execute-api",
                region=self.region,
                now=self.clock(),
            )
        except SigV4Error as error:
            message = "Forbidden" if error.reason == "missing" else error.message
            return (403, [("x-amzn-ErrorType", "ForbiddenException")], {"message": message}), None
        authorization = next((v for n, v in headers if n.lower() == "authorization"), "")
        credential = (
            authorization.split("Credential=", 1)[1]
            if "Credential=" in authorization
            else dict(parse_qsl(split.query)).get("X-Amz-Credential", "")  # presigned URL
        )
        access_key = credential.split("/", 1)[0]
        return None, {
            "iam": {
                "accessKey": access_key,
                "accountId": self.account_id,
                "callerId": access_key,
                "principalOrgId": None,
                "userArn": f"arn:aws:iam::{self.account_id}:user/{access_key}",
                "userId": access_key,
            }
        }

    def _jwt(self, headers):
        value = next((v for n, v in headers if n.lower() == "authorization"), "")
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self._unauthorized("the request has no Bearer token"), None
        assert self.issuer is not None
        try:
            claims = self.issuer.validate(token.strip(), self.audiences, self.clock())
        except JwtError as error:
            return self._unauthorized(str(error)), None
        scopes = str(claims.get("scope", "")).split() or None
        return None, {"jwt": {"claims": claims, "scopes": scopes}}

    @staticmethod
    def _unauthorized(why: str) -> Denial:
        description = why.replace('"', "'")
        return (
            401,
            [
                (
                    "www-authenticate",
                    f'Bearer error="invalid_token" error_description="{description}"',
                )
            ],
            {"message": "Unauthorized"},
        )
