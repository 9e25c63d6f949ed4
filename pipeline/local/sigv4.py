"""Verify an AWS Signature Version 4 `Authorization` header, as AWS does on each request.

The signature is recomputed with botocore's own SigV4 code (canonical request, string to sign,
signing key) over exactly the headers the client says it signed, then compared in constant
time. Callers map `SigV4Error.reason` to their own AWS answer (API Gateway: 403 with a
`message`; the AWS endpoint: its service's error shape).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
# AWS refuses a request whose X-Amz-Date is more than 15 minutes from its own clock.
MAX_CLOCK_SKEW_S = 15 * 60
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
REASONS = ("missing", "incomplete", "bad_signature", "expired", "unknown_key", "wrong_scope")


class SigV4Error(Exception):
    def __init__(self, reason: str, message: str) -> None:
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


def _parse_authorization(value: str) -> dict[str, str]:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SigV4Error("incomplete", f"Authorization must use {ALGORITHM}")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, field_value = part.strip().partition("=")
        if sep:
            fields[name] = field_value
    missing = [
        name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)
    ]
    if missing:
        raise SigV4Error(
            "incomplete", f"Authorization header requires {', '.join(missing)} parameter(s)"
        )
    return fields


def verify_sigv4(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret_for: Callable[[str], str | None],
    service: str,
    region: str,
    now: float,
) -> None:
    """Return if the request is signed by a known key for this service and region; else raise
    SigV4Error. `path` is the raw request path (percent-encoded as sent), `query` the raw query."""
    lowered = {name.lower(): value for name, value in headers.items()}
    authorization = lowered.get("authorization", "")
    if not authorization:
        raise SigV4Error("missing", "Missing Authentication Token")
    fields = _parse_authorization(authorization)
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise SigV4Error(
            "incomplete",
            "Credential must be <access key>/<yyyymmdd>/<region>/<service>/aws4_request",
        )
    access_key, date, scope_region, scope_service, _ = scope
    amz_date = lowered.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SigV4Error("incomplete", "X-Amz-Date header (yyyymmddThhmmssZ) is required") from None
    signed_headers = fields["SignedHeaders"].split(";")
    if "host" not in signed_headers:
        raise SigV4Error("incomplete", "the Host header must be signed")
    if any(name not in lowered for name in signed_headers):
        raise SigV4Error("incomplete", "a header named in SignedHeaders is missing")
    if date != amz_date[:8] or scope_region != region or scope_service != service:
        raise SigV4Error(
            "wrong_scope",
            f"Credential should be scoped to a valid region ({region}), service ({service}) "
            f"and the date of X-Amz-Date ({amz_date[:8]})",
        )
    skew = abs(now - signed_at.timestamp())
    if skew > MAX_CLOCK_SKEW_S:
        raise SigV4Error(
            "expired",
            f"Signature expired: {amz_date} is now earlier than "
            f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now - MAX_CLOCK_SKEW_S))} "
            f"({time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))} - 15 min.)",
        )
    secret = secret_for(access_key)
    if secret is None:
        raise SigV4Error("unknown_key", "The security token included in the request is invalid.")
    payload_hash = lowered.get("x-amz-content-sha256")
    if payload_hash not in (None, UNSIGNED_PAYLOAD) and not hmac.compare_digest(
        payload_hash, hashlib.sha256(body).hexdigest()
    ):
        raise SigV4Error("bad_signature", "X-Amz-Content-SHA256 does not match the body")
    expected = _signature(
        method,
        lowered["host"],
        path,
        query,
        {name: lowered[name] for name in signed_headers},
        body,
        Credentials(access_key, secret, lowered.get("x-amz-security-token")),
        service,
        region,
        amz_date,
    )
    if not hmac.compare_digest(expected, fields["Signature"]):
        raise SigV4Error(
            "bad_signature",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )


def _signature(
    method: str,
    host: str,
    path: str,
    query: str,
    signed: dict[str, str],
    body: bytes,
    credentials: Credentials,
    service: str,
    region: str,
    amz_date: str,
) -> str:
    """botocore's SigV4 over exactly the signed headers, at the request's own timestamp."""
    url = f"http://{host}{quote(path, safe='/~%')}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=body, headers=signed)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(credentials, service, region)
    canonical = signer.canonical_request(request)
    return signer.signature(signer.string_to_sign(request, canonical), request)
