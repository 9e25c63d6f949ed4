"""The minimal HTTP/1.1 client to the engines, over a socketpair (no network)."""

from __future__ import annotations

import socket
import threading

import pytest

from pipeline.local.aws.protocol import EngineConnectionError, _Connection


def connection_answering(reply: bytes) -> tuple[_Connection, list[bytes]]:
    ours, theirs = socket.socketpair()
    received: list[bytes] = []

    def engine() -> None:
        received.append(theirs.recv(65536))
        theirs.sendall(reply)
        theirs.close()

    threading.Thread(target=engine, daemon=True).start()
    conn = _Connection.__new__(_Connection)
    conn.sock, conn.reader = ours, ours.makefile("rb")
    return conn, received


def test_content_length_reply_and_request_in_one_piece():
    conn, received = connection_answering(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
        b"Content-Length: 2\r\n\r\n{}"
    )
    assert conn.exchange(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}") == (
        200,
        "application/x-amz-json-1.1",
        b"{}",
        False,
    )
    assert received == [b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"]


def test_chunked_reply_and_connection_close():
    conn, _ = connection_answering(
        b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b'5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n'
    )
    assert conn.exchange(b"x") == (400, None, b'{"a":1}', True)


@pytest.mark.parametrize(
    "reply",
    [
        b"",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}",
    ],
)
def test_a_closed_or_cut_connection_is_an_error_the_client_retries(reply):
    conn, _ = connection_answering(reply)
    with pytest.raises(EngineConnectionError):
        conn.exchange(b"x")
