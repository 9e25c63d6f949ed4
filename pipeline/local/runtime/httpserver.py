"""A threaded HTTP/1.1 server on 127.0.0.1 with keep-alive (base of the API and Invoke servers)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pipeline.local.guard import Guard, GuardedHandlerMixin, Refusal

LOOPBACK = "127.0.0.1"


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(
        self,
        port: int,
        handler_class: type[BaseHTTPRequestHandler],
        guard: Callable[[int], Guard] | None = None,
    ) -> None:
        """`guard(bound port)` makes the Guard every request passes (see pipeline.local.guard)."""
        if guard is not None:
            handler_class = type(handler_class.__name__, (handler_class,), {})
        super().__init__((LOOPBACK, port), handler_class)
        if guard is not None:
            handler_class.guard = guard(self.server_address[1])  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self, name: str) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True, name=name
        )
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class KeepAliveHandler(GuardedHandlerMixin, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one write; without this Nagle + delayed ACK add ~40 ms a call.
    disable_nagle_algorithm = True
    server_version = "redline-local"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would flood the log under load

    def send_refusal(self, refusal: Refusal) -> None:
        self.send_json(refusal.status, {"message": refusal.message})

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(
        self,
        status: int,
        body: bytes,
        headers: list[tuple[str, str]] | None = None,
        content_type: str | None = "application/json",
    ) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        for name, value in headers or []:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:  # the client must not reuse a connection we are closing
            self.send_header("Connection", "close")
        if self.command != "HEAD":
            self._headers_buffer.append(b"\r\n" + body)
            self.flush_headers()
        else:
            self.end_headers()

    def send_json(
        self,
        status: int,
        document: Any,
        headers: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
    ) -> None:
        self.send(
            status,
            json.dumps(document, separators=(",", ":")).encode("utf-8"),
            headers,
            content_type,
        )
