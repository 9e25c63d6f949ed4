"""Who may talk to the local stack's HTTP endpoints: only the user's own clients on this machine.

Every server of the stack (the AWS gateway, the HTTP API, the Invoke API) binds 127.0.0.1, but
a bind alone does not stop a web page in the user's browser: DNS rebinding reaches 127.0.0.1
under a foreign host name, and a page may send simple cross-site POSTs there. So each request
passes `Guard.check` before anything runs:

- Host must be 127.0.0.1, localhost or [::1] with the server's own port (DNS rebinding sends
  the attacker's name);
- a browser's cross-origin request (an `Origin` other than the server's own, or
  `Sec-Fetch-Site: cross-site|same-site`) is refused unless the user opted in to that origin
  through REDLINE_ALLOWED_ORIGINS;
- control routes (`/_redline/...`) need the stack's token in `X-Redline-Token`; the token is
  made per stack and kept in the stack's state file, readable by the user only;
- a body larger than the API's own AWS maximum is refused before it is read.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

TOKEN_HEADER = "X-Redline-Token"  # noqa: S105 - a header name, not a secret
TOKEN_ENV = "REDLINE_CONTROL_TOKEN"  # noqa: S105 - a variable name, not a secret
ALLOWED_ORIGINS_ENV = "REDLINE_ALLOWED_ORIGINS"
CONTROL_PREFIX = "/_redline/"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
CROSS_SITE_FETCHES = frozenset({"cross-site", "same-site"})


def new_token() -> str:
    return secrets.token_urlsafe(32)


def allowed_origins_from_env(environ: Mapping[str, str] = os.environ) -> frozenset[str]:
    """REDLINE_ALLOWED_ORIGINS: comma-separated origins (scheme://host[:port]) the user trusts."""
    raw = environ.get(ALLOWED_ORIGINS_ENV, "")
    origins = set()
    for item in filter(None, (part.strip() for part in raw.split(","))):
        parts = urlsplit(item)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ValueError(
                f"{ALLOWED_ORIGINS_ENV}: {item!r} is not an origin (scheme://host[:port], "
                "e.g. http://localhost:3000)"
            )
        origins.add(f"{parts.scheme}://{parts.netloc}".lower())
    return frozenset(origins)


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: the HTTP status and a sentence for the user."""

    status: int
    reason: str  # foreign_host | cross_origin | no_token | bad_token | too_large
    message: str


@dataclass
class Guard:
    port: int
    token: str | None
    allowed_origins: frozenset[str] = frozenset()
    # Control paths anyone on this machine may GET without the token (e.g. a JWKS document).
    public_paths: frozenset[str] = frozenset()
    # The largest body accepted for a request: (method, path, headers) -> bytes.
    body_limit: Callable[[str, str, Mapping[str, str]], int] | None = None
    own_origins: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.own_origins = frozenset(f"http://{name}:{self.port}" for name in LOOPBACK_NAMES)

    def check(self, method: str, target: str, headers: Mapping[str, str]) -> Refusal | None:
        """None when the request may go on, else the refusal to answer."""
        host = (headers.get("Host") or "").strip().lower()
        if host not in {f"{name}:{self.port}" for name in LOOPBACK_NAMES}:
            return Refusal(
                403,
                "foreign_host",
                f"Host {host or '(none)'!r} is not this local endpoint: only 127.0.0.1:"
                f"{self.port}, localhost:{self.port} or [::1]:{self.port} are served",
            )
        origin = (headers.get("Origin") or "").strip().lower().rstrip("/")
        fetch_site = (headers.get("Sec-Fetch-Site") or "").strip().lower()
        trusted = origin in self.own_origins or origin in self.allowed_origins
        if (origin and not trusted) or (fetch_site in CROSS_SITE_FETCHES and not trusted):
            return Refusal(
                403,
                "cross_origin",
                f"cross-origin browser request from {origin or fetch_site!r} refused: list the "
                f"origin in {ALLOWED_ORIGINS_ENV} to allow it",
            )
        path = urlsplit(target).path
        if path.startswith(CONTROL_PREFIX) and not (
            method in ("GET", "HEAD") and path.rstrip("/") in self.public_paths
        ):
            given = headers.get(TOKEN_HEADER) or ""
            if not given:
                return Refusal(
                    401,
                    "no_token",
                    f"control route {path} needs the stack's token in {TOKEN_HEADER} "
                    "(it is in the stack's state file, .redline/stack.json)",
                )
            if self.token is None or not hmac.compare_digest(given, self.token):
                return Refusal(403, "bad_token", f"wrong {TOKEN_HEADER} for control route {path}")
        if self.body_limit is not None:
            refusal = self.check_length(headers, self.body_limit(method, path, headers))
            if refusal is not None:
                return refusal
        return None

    @staticmethod
    def check_length(headers: Mapping[str, str], limit: int) -> Refusal | None:
        raw = headers.get("Content-Length")
        if raw is None:
            return None
        if not raw.strip().isdigit():
            return Refusal(400, "bad_length", f"Content-Length {raw!r} is not a number of bytes")
        if int(raw) > limit:
            return too_large(int(raw), limit)
        return None


def too_large(size: int, limit: int) -> Refusal:
    return Refusal(
        413,
        "too_large",
        f"request body of {size} bytes is larger than this API's maximum of {limit} bytes",
    )


def token_headers(token: str | None) -> dict[str, str]:
    return {TOKEN_HEADER: token} if token else {}


# An oversized body up to this size is read and dropped before the 413 (see _discard_body).
DRAIN_MAX_BYTES = 64 * 1024 * 1024
DRAIN_IDLE_S = 1.0


class GuardedHandlerMixin:
    """For a BaseHTTPRequestHandler: runs `guard` on each request before any method handler.

    The subclass sets `guard` and implements `send_refusal`; a refused request closes the
    connection (an oversized body is drained first, any other is never read).
    """

    guard: Guard | None = None

    def parse_request(self) -> bool:
        if not super().parse_request():  # type: ignore[misc]
            return False
        guard = self.guard
        if guard is None:
            return True
        refusal = guard.check(self.command, self.path, self.headers)  # type: ignore[attr-defined]
        if refusal is None:
            return True
        # A refused request's unread body would be taken for the next request: close, unless
        # an oversized body was drained whole (the client may then reuse its connection).
        self.close_connection = not (refusal.reason == "too_large" and self._discard_body())
        self.send_refusal(refusal)
        self.wfile.flush()  # type: ignore[attr-defined]  # parse_request's caller will not
        return False

    def _discard_body(self) -> bool:
        """Read an oversized body (up to DRAIN_MAX_BYTES) before answering: a client still
        sending it would otherwise see the connection reset instead of the 413. True when the
        whole body was read."""
        try:
            remaining = int(self.headers.get("Content-Length") or 0)  # type: ignore[attr-defined]
        except ValueError:
            return False
        if remaining > DRAIN_MAX_BYTES:
            return False
        connection = self.connection  # type: ignore[attr-defined]
        previous = connection.gettimeout()
        connection.settimeout(DRAIN_IDLE_S)  # a client that declared a body it never sends
        try:
            while remaining > 0:
                chunk = self.rfile.read1(min(remaining, 1 << 16))  # type: ignore[attr-defined]
                if not chunk:
                    return False
                remaining -= len(chunk)
        except OSError:  # timed out or reset: answer anyway
            return False
        finally:
            connection.settimeout(previous)
        return True

    def send_refusal(self, refusal: Refusal) -> None:
        raise NotImplementedError
