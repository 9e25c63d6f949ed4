"""The one way Redline calls its own local endpoints on 127.0.0.1 (health, status, control routes).

http.client rather than urllib: only http to a loopback host can be reached, never a file: or
custom scheme, and an error status is a return value, not an exception. Control routes
(`/_redline/...`) need the stack's token: pass `token=` (the stack's state file and
`GatewayHandle.token` hold it; `token_from_env()` reads REDLINE_CONTROL_TOKEN).
"""

from __future__ import annotations

import http.client
import os
from urllib.parse import urlsplit

from pipeline.local.guard import TOKEN_ENV, token_headers

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})


def token_from_env() -> str | None:
    return os.environ.get(TOKEN_ENV) or None


def request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 10.0,
    token: str | None = None,
) -> tuple[int, bytes]:
    """(status, body) of one call; raises OSError when nothing answers."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError(f"only http://127.0.0.1 URLs are local, got {url!r}")
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout_s)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if body is None and method in ("POST", "PUT"):
            body = b""  # a Content-Length: 0, as servers expect of a bodiless POST
        connection.request(
            method, path or "/", body=body, headers={**(headers or {}), **token_headers(token)}
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()
