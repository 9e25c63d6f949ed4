"""AWS Signature Version 4 verification, as AWS checks a request before serving it.

Both forms are checked: the `Authorization` header and the presigned query string
(`X-Amz-Algorithm`, `X-Amz-Credential`, ...). The signature is recomputed with botocore's own
SigV4 signer (canonical request, string to sign, signing key), restricted to the headers the
client says it signed, so the verifier and every AWS SDK agree on the canonical form.

`verify_sigv4` raises `SigV4Error(reason, message)`; the caller maps the reason to each
service's AWS answer. Messages are AWS's wording (see docs/local-aws.md for the sources).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from hashlib import sha256
from urllib.parse import parse_qsl

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
REASONS = ("missing", "incomplete", "bad_signature", "expired", "unknown_key", "wrong_scope")
# How far a request's X-Amz-Date may be from the server's clock. Kinesis answers
# "... (<now> - 5 min.)"; DynamoDB "... (<now> - 15 min.)" (both seen in AWS's replies).
CLOCK_SKEW_S = {"dynamodb": 900}
DEFAULT_CLOCK_SKEW_S = 300
PRESIGNED_MAX_EXPIRES_S = 604_800  # 7 days, SigV4's ceiling for X-Amz-Expires
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"

BAD_SIGNATURE_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
UNKNOWN_KEY_MESSAGE = "The security token included in the request is invalid."
DEFAULT_MISSING_MESSAGE = "Missing Authentication Token"
MISSING_MESSAGE = {"dynamodb": "Request is missing Authentication Token"}


class SigV4Error(Exception):
    """Why a request's signature is refused: `reason` is one of REASONS, `message` AWS's text."""

    def __init__(self, reason: str, message: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"reason {reason!r}: expected one of {', '.join(REASONS)}")
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


class _SignedHeadersOnly(SigV4Auth):
    """botocore's signer, told which headers the client signed instead of choosing them."""

    def __init__(self, credentials: Credentials, service: str, region: str, names: list[str]):
        super().__init__(credentials, service, region)
        self._names = names

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        key = _signing_key(
            self.credentials.secret_key,
            request.context["timestamp"][0:8],
            self._region_name,
            self._service_name,
        )
        return self._sign(key, string_to_sign, hex=True)

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        chosen = HTTPHeaders()
        for name in self._names:
            chosen[name] = request.headers.get(name, "")
        return chosen


@lru_cache(maxsize=64)
def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    """SigV4's derived key, the same HMAC chain as botocore's signature(); it changes once a
    day, so it is kept rather than derived again for every request."""
    sign = SigV4Auth._sign
    key = sign(None, f"AWS4{secret}".encode(), day)
    for part in (region, service, "aws4_request"):
        key = sign(None, key, part)
    return key


def _parse_authorization(header: str) -> tuple[str, dict[str, str]]:
    algorithm, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    for part in rest.replace(",", " ").split():
        key, sep, value = part.partition("=")
        if sep:
            params[key.strip()] = value.strip()
    return algorithm, params


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _parse_amz_date(text: str) -> datetime | None:
    # By hand rather than strptime, which cost more than the rest of the check together.
    if len(text) != 16 or text[8] != "T" or text[15] != "Z":
        return None
    digits = text[:8] + text[9:15]
    if not (digits.isascii() and digits.isdigit()):
        return None
    try:
        return datetime(
            int(text[0:4]), int(text[4:6]), int(text[6:8]),
            int(text[9:11]), int(text[11:13]), int(text[13:15]), tzinfo=UTC,
        )  # fmt: skip
    except ValueError:
        return None


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime(AMZ_DATE_FORMAT)


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
    """Return if the request is signed as AWS requires; raise SigV4Error otherwise.

    `path` and `query` are as they arrived on the wire (still percent-encoded);
    `secret_for(access_key_id)` gives the secret key, or None for a key the stack does not know.
    """
    lowered = _lower(headers)
    query_params = dict(parse_qsl(query, keep_blank_values=True))
    header_auth = lowered.get("authorization", "")
    query_auth = "X-Amz-Algorithm" in query_params
    if header_auth and query_auth:
        raise SigV4Error(
            "bad_signature",
            "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' "
            "as HTTP header.",
        )
    if (not header_auth and not query_auth) or (
        header_auth and not header_auth.strip().startswith("AWS4-")
    ):
        raise SigV4Error("missing", MISSING_MESSAGE.get(service, DEFAULT_MISSING_MESSAGE))

    if header_auth:
        algorithm, params = _parse_authorization(header_auth)
        missing = [p for p in ("Credential", "Signature", "SignedHeaders") if not params.get(p)]
        message = "".join(f"Authorization header requires '{p}' parameter. " for p in missing)
        if "x-amz-date" not in lowered and "date" not in lowered:
            message += (
                "Authorization header requires existence of either a 'X-Amz-Date' or a "
                "'Date' header. "
            )
        if message:
            raise SigV4Error("incomplete", message + f"Authorization={header_auth}")
        credential, signed_names, signature = (
            params["Credential"],
            params["SignedHeaders"],
            params["Signature"],
        )
        amz_date = lowered.get("x-amz-date", "")
        if not amz_date:  # a bare Date header (RFC 1123)
            try:
                amz_date = parsedate_to_datetime(lowered["date"]).strftime(AMZ_DATE_FORMAT)
            except (TypeError, ValueError):
                amz_date = ""
        expires: int | None = None
        canonical_query = query
    else:
        required = (
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Signature",
            "X-Amz-SignedHeaders",
            "X-Amz-Date",
        )
        missing = [p for p in required if not query_params.get(p)]
        if missing:
            raise SigV4Error(
                "incomplete",
                "".join(f"AWS query-string parameters must include '{p}'. " for p in missing)
                + "Re-examine the query-string parameters.",
            )
        algorithm = query_params["X-Amz-Algorithm"]
        credential = query_params["X-Amz-Credential"]
        signed_names = query_params["X-Amz-SignedHeaders"]
        signature = query_params["X-Amz-Signature"]
        amz_date = query_params["X-Amz-Date"]
        raw_expires = query_params.get("X-Amz-Expires", str(PRESIGNED_MAX_EXPIRES_S))
        if not raw_expires.isdigit() or int(raw_expires) > PRESIGNED_MAX_EXPIRES_S:
            raise SigV4Error(
                "incomplete",
                f"X-Amz-Expires must be a number of seconds from 0 to "
                f"{PRESIGNED_MAX_EXPIRES_S}: got '{raw_expires}'.",
            )
        expires = int(raw_expires)
        # The signature cannot sign itself: the canonical query leaves it out.
        canonical_query = "&".join(
            pair for pair in query.split("&") if not pair.startswith("X-Amz-Signature=")
        )

    # The order of the checks and their wording are AWS's, as dynalite records them.
    signed_at = _parse_amz_date(amz_date)
    if signed_at is None:
        raise SigV4Error(
            "incomplete",
            f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. "
            "See http://en.wikipedia.org/wiki/ISO_8601",
        )
    signed_epoch = signed_at.timestamp()
    if expires is not None:
        if now > signed_epoch + expires:
            raise SigV4Error(
                "expired",
                f"Signature expired: {amz_date} is now earlier than "
                f"{_stamp(now - expires)} ({_stamp(now)} - {expires} sec.)",
            )
    else:
        skew = CLOCK_SKEW_S.get(service, DEFAULT_CLOCK_SKEW_S)
        minutes = f"{skew // 60} min."
        if signed_epoch < now - skew:
            raise SigV4Error(
                "expired",
                f"Signature expired: {amz_date} is now earlier than {_stamp(now - skew)} "
                f"({_stamp(now)} - {minutes})",
            )
        if signed_epoch > now + skew:
            raise SigV4Error(
                "expired",
                f"Signature not yet current: {amz_date} is still later than "
                f"{_stamp(now + skew)} ({_stamp(now)} + {minutes})",
            )
    names = [n.strip().lower() for n in signed_names.split(";") if n.strip()]
    if "host" not in names and ":authority" not in names:  # HTTP/2 clients sign :authority
        raise SigV4Error(
            "bad_signature", "'Host' must be a 'SignedHeader' in the AWS Authorization."
        )
    if algorithm != ALGORITHM:
        raise SigV4Error(
            "incomplete",
            f"Unsupported AWS 'algorithm': '{algorithm}' (only {ALGORITHM} for now). ",
        )
    scope = credential.rstrip("/").split("/")
    if len(scope) != 5:
        raise SigV4Error(
            "incomplete",
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{credential}'",
        )
    access_key, scope_date, scope_region, scope_service, terminator = scope
    wrong = ""
    if scope_region != region:
        wrong += f"Credential should be scoped to a valid region, not '{scope_region}'. "
    if scope_service != service:
        wrong += f"Credential should be scoped to correct service: '{service}'. "
    if terminator != "aws4_request":
        wrong += (
            f"Credential should be scoped with a valid terminator: 'aws4_request', "
            f"not '{terminator}'. "
        )
    if scope_date != amz_date[:8]:
        wrong += (
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{scope_date}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    if wrong:
        raise SigV4Error("wrong_scope", wrong)

    secret = secret_for(access_key)
    if secret is None:
        raise SigV4Error("unknown_key", UNKNOWN_KEY_MESSAGE)
    # A header the client says it signed but did not send signs as empty: the comparison fails.

    signer = _SignedHeadersOnly(Credentials(access_key, secret), service, region, names)
    request = AWSRequest(
        method=method.upper(),
        url=f"http://{lowered['host']}{path or '/'}"
        + (f"?{canonical_query}" if canonical_query else ""),
        headers={n: lowered.get(n, "") for n in names},
    )
    # botocore takes the payload hash from this header when present: hashing the body here
    # spares botocore preparing (copying) the whole request to hash it. A client that signed
    # a different X-Amz-Content-SHA256 than its body's fails the comparison, as with AWS.
    request.headers["X-Amz-Content-SHA256"] = sha256(body).hexdigest()
    request.context["timestamp"] = amz_date
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, signature):
        string_to_sign = signer.string_to_sign(request, canonical)
        raise SigV4Error(
            "bad_signature",
            f"{BAD_SIGNATURE_MESSAGE}\n\nThe Canonical String for this request should have been"
            f"\n'{canonical}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n",
        )


__all__ = ["REASONS", "SigV4Error", "verify_sigv4"]
