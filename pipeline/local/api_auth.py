"""What a client of the local HTTP API sends to be authorized, as it would on AWS.

AWS_IAM: a SigV4 signature (service execute-api) made with the local stack's credentials;
JWT: a bearer token from the local issuer (`POST /_redline/jwt` on the Invoke API port, which
needs the stack's control token); NONE: nothing.
"""

from __future__ import annotations

import json

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from pipeline.local import loopback

# The local stack's only credentials (the runtime's functions get the same).
LOCAL_ACCESS_KEY_ID = "test"
LOCAL_SECRET_ACCESS_KEY = "test"  # noqa: S105 - the local stack's fixed, public test key


def sigv4_headers(
    method: str,
    url: str,
    region: str,
    body: bytes = b"",
    credentials: Credentials | None = None,
) -> dict[str, str]:
    """The headers (Authorization, X-Amz-Date, ...) that sign one execute-api request."""
    request = AWSRequest(method=method, url=url, data=body)
    signer = SigV4Auth(
        credentials or Credentials(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY),
        "execute-api",
        region,
    )
    signer.add_auth(request)
    return dict(request.headers)


def mint_local_token(
    lambda_endpoint_url: str,
    control_token: str | None,
    audience: str | None = None,
    ttl_seconds: float = 3600,
) -> str:
    """A JWT from the local stack's issuer (the Invoke API's `POST /_redline/jwt`)."""
    request = {"ttl_seconds": ttl_seconds, **({"audience": audience} if audience else {})}
    status, body = loopback.request(
        f"{lambda_endpoint_url.rstrip('/')}/_redline/jwt",
        "POST",
        json.dumps(request).encode("utf-8"),
        {"Content-Type": "application/json"},
        token=control_token,
    )
    if status != 200:
        raise RuntimeError(f"the local JWT issuer answered HTTP {status}: {body[:200]!r}")
    return json.loads(body)["token"]


def local_api_headers(
    auth_type: str,
    method: str,
    url: str,
    region: str,
    lambda_endpoint_url: str,
    control_token: str | None,
) -> dict[str, str]:
    """Headers that authorize one request to the local HTTP API under `auth_type`."""
    if auth_type == "AWS_IAM":
        return sigv4_headers(method, url, region)
    if auth_type == "JWT":
        token = mint_local_token(lambda_endpoint_url, control_token, ttl_seconds=300)
        return {"Authorization": f"Bearer {token}"}
    return {}
