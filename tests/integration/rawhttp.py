"""One HTTP request with exactly the given headers, Host included: what a browser page or a
neighbour's process could send to a local endpoint."""

from __future__ import annotations

import http.client


def raw_request(port, method, path, headers=None, body=b"", host=None):
    """(status, response headers, body bytes); Host defaults to 127.0.0.1:<port>."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", host or f"127.0.0.1:{port}")
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        if "Content-Length" not in (headers or {}):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()
