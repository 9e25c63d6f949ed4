"""The local stack's JWT issuer: an RSA key made at start, its JWKS, tokens for load tests.

API Gateway's JWT authorizer checks a token's signature against the issuer's JWKS, its `iss`
against the configured issuer, its `aud` (or `client_id`) against the configured audiences,
and `exp` / `nbf` / `iat` against the clock; any failure is 401 {"message":"Unauthorized"}.
The local HTTP API does the same against this issuer, whose JWKS the runtime serves at
`GET /_redline/jwks.json` on the Invoke API port; `POST /_redline/jwt` (stack token
required) mints a token for the load tests.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ALGORITHM = "RS256"
DEFAULT_TTL_S = 3600
MAX_TTL_S = 12 * 3600


class JwtError(Exception):
    """Why a token is refused (for the log and the WWW-Authenticate description)."""


class LocalIssuer:
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.key_id = uuid.uuid4().hex
        self._private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._private_key.public_key()))
        self._jwks = {"keys": [{**public, "kid": self.key_id, "alg": ALGORITHM, "use": "sig"}]}
        self._keys = {self.key_id: self._private_key.public_key()}

    def jwks(self) -> dict[str, Any]:
        return self._jwks

    def mint(
        self, audience: str, subject: str = "redline-loadtest", ttl_s: float = DEFAULT_TTL_S
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + int(min(ttl_s, MAX_TTL_S)),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(
            claims, self._private_key, algorithm=ALGORITHM, headers={"kid": self.key_id}
        )

    def validate(self, token: str, audiences: Sequence[str], now: float) -> dict[str, Any]:
        """The token's claims, or JwtError."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise JwtError(f"the token is not a JWT: {exc}") from None
        key = self._keys.get(header.get("kid", ""))
        if key is None:
            raise JwtError("the token's kid is not in the issuer's JWKS")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                options={"require": ["exp", "iss"], "verify_aud": False, "verify_exp": False},
            )
        except jwt.InvalidTokenError as exc:
            raise JwtError(str(exc)) from None
        # The clock is ours (not PyJWT's), so a test can move it; no leeway, as API Gateway.
        if claims["exp"] <= now:
            raise JwtError("the token has expired")
        if claims.get("nbf", 0) > now:
            raise JwtError("the token is not valid yet")
        given = claims.get("aud", claims.get("client_id"))
        given_list = given if isinstance(given, list) else [given]
        if not any(audience in audiences for audience in given_list):
            raise JwtError("the token's audience is not one of the API's")
        return claims
