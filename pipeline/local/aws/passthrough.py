"""Hand a request to an engine as the client sent it and its answer back as the engine gave it.

For requests the gateway has nothing to add to (a content type or method the service does not
serve): kinesalite and dynalite carry AWS's own answers to them, byte for byte, including the
XML documents AWS's JSON endpoints give for a wrong method or content type.
"""

from __future__ import annotations

import http.client
from collections.abc import Mapping

from pipeline.local.aws.protocol import Response

FORWARDED_HEADERS = ("content-type", "x-amz-target", "authorization", "x-amz-date", "origin")


def forward(port: int, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Response:
    sent = {name: value for name, value in headers.items() if name.lower() in FORWARDED_HEADERS}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path or "/", body=body or None, headers=sent)
        reply = connection.getresponse()
        data = reply.read()
        kept = {
            name: value
            for name, value in reply.getheaders()
            if name.lower() in ("content-type", "x-amzn-requestid", "x-amz-crc32")
        }
        return Response(reply.status, data, kept)
    finally:
        connection.close()


__all__ = ["forward"]
