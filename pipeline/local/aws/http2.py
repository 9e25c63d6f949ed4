"""HTTP/2 over cleartext with prior knowledge, on the gateway's own port.

The AWS SDK for JavaScript v3 opens an `http://` endpoint with HTTP/2 prior knowledge (its
NodeHttp2Handler sends the client preface straight away, no Upgrade). The gateway's HTTP/1.1
handler sees the preface's first line, `PRI * HTTP/2.0`, and hands the connection here. Each
request stream is answered by the very dispatch the HTTP/1.1 path uses
(`GatewayHandler._respond`), so limits, throttles and error shapes are the same; only the
framing differs. Streams of one connection run concurrently (a thread each), as a client
multiplexing them expects; the `h2` library keeps the protocol state, the socket writes and
flow control are ours.
"""

from __future__ import annotations

import logging
import threading
from http.client import HTTPMessage
from typing import Any, Final
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

from pipeline.local.aws.errors import AwsError
from pipeline.local.aws.protocol import KINESIS_CONTENT_TYPE, Response, json_error

logger = logging.getLogger("redline.gateway.h2")

PREFACE_FIRST_LINE: Final = b"PRI * HTTP/2.0\r\n"
PREFACE_REST: Final = b"\r\nSM\r\n\r\n"
# Large receive windows: a PutRecords call may carry 10 MiB, and a 64 KiB window would cost a
# round trip per 64 KiB.
RECEIVE_WINDOW: Final = 16 * 1024 * 1024
READ_CHUNK: Final = 256 * 1024
FRAME_HEADER_BYTES: Final = 9
GOAWAY_FRAME_TYPE: Final = 0x7
HOP_BY_HOP: Final = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "upgrade", "content-length", "date"}
)


class _Stream:
    def __init__(self, headers: list[tuple[str, str]]) -> None:
        self.headers = headers
        self.body = bytearray()
        self.too_large = False


class Http2Connection:
    """One client connection, from the preface to GOAWAY or EOF."""

    def __init__(self, handler: Any, max_body_bytes: int) -> None:
        self.handler = handler
        self.max_body_bytes = max_body_bytes
        self.socket = handler.connection
        self.rfile = handler.rfile
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        self.lock = threading.Lock()
        self.window_opened = threading.Condition(self.lock)
        self.streams: dict[int, _Stream] = {}
        self.closed = False
        self.pending = bytearray()  # bytes of a frame not yet complete

    def serve(self) -> None:
        """Run the connection; returns when the client goes away."""
        rest = self.rfile.read(len(PREFACE_REST))
        if rest != PREFACE_REST:
            logger.debug("not an HTTP/2 preface: %r", rest)
            return
        with self.lock:
            self.conn.initiate_connection()
            window = {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: RECEIVE_WINDOW}
            self.conn.update_settings(window)
            self.conn.increment_flow_control_window(RECEIVE_WINDOW)
            self._flush()
        try:
            self._receive(PREFACE_FIRST_LINE + PREFACE_REST)
            while not self.closed:
                data = self.rfile.read1(READ_CHUNK)
                if not data:
                    break
                self._receive(self._without_goaway(data))
        except (OSError, h2.exceptions.ProtocolError) as exc:
            logger.debug("HTTP/2 connection ended: %r", exc)
        finally:
            with self.lock:
                self.closed = True
                self.window_opened.notify_all()

    def _without_goaway(self, data: bytes) -> bytes:
        """Whole frames from the client, its GOAWAY frames left out.

        A client closing its session gracefully (the JS SDK does after each request) sends
        GOAWAY and still expects the streams it opened to be answered; `h2` closes its state
        machine on GOAWAY and refuses the WINDOW_UPDATEs that follow, which would cut a
        response off at the first flow-control window. The client closes the socket itself
        once its streams are done."""
        self.pending += data
        frames = bytearray()
        while len(self.pending) >= FRAME_HEADER_BYTES:
            size = FRAME_HEADER_BYTES + int.from_bytes(self.pending[:3], "big")
            if len(self.pending) < size:
                break
            if self.pending[3] != GOAWAY_FRAME_TYPE:
                frames += self.pending[:size]
            del self.pending[:size]
        return bytes(frames)

    def _flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.socket.sendall(data)

    def _receive(self, data: bytes) -> None:
        with self.lock:
            events = self.conn.receive_data(data)
            ready: list[tuple[int, _Stream]] = []
            for event in events:
                if isinstance(event, h2.events.RequestReceived):
                    self.streams[event.stream_id] = _Stream(list(event.headers))
                    if event.stream_ended:
                        ready.append((event.stream_id, self.streams.pop(event.stream_id)))
                elif isinstance(event, h2.events.DataReceived):
                    stream = self.streams.get(event.stream_id)
                    self.conn.acknowledge_received_data(
                        event.flow_controlled_length, event.stream_id
                    )
                    if stream is not None and not stream.too_large:
                        stream.body += event.data
                        stream.too_large = len(stream.body) > self.max_body_bytes
                        if stream.too_large:
                            stream.body = bytearray()
                    if event.stream_ended and stream is not None:
                        ready.append((event.stream_id, self.streams.pop(event.stream_id)))
                elif isinstance(event, h2.events.StreamEnded):
                    stream = self.streams.pop(event.stream_id, None)
                    if stream is not None:
                        ready.append((event.stream_id, stream))
                elif isinstance(event, h2.events.StreamReset):
                    self.streams.pop(event.stream_id, None)
                    self.window_opened.notify_all()
                elif isinstance(event, h2.events.WindowUpdated | h2.events.RemoteSettingsChanged):
                    self.window_opened.notify_all()
                elif isinstance(event, h2.events.ConnectionTerminated):
                    self.closed = True
            self._flush()
        for stream_id, stream in ready:
            threading.Thread(
                target=self._answer, args=(stream_id, stream), daemon=True, name="h2-stream"
            ).start()

    def _answer(self, stream_id: int, stream: _Stream) -> None:
        pseudo = {name: value for name, value in stream.headers if name.startswith(":")}
        method = pseudo.get(":method", "GET")
        raw_path = pseudo.get(":path", "/")
        headers = HTTPMessage()
        for name, value in stream.headers:
            if not name.startswith(":"):
                headers[name] = value
        if ":authority" in pseudo:
            # SDKs sign :authority in place of Host over HTTP/2: the signature check needs it.
            headers[":authority"] = pseudo[":authority"]
            if "host" not in headers:
                headers["Host"] = pseudo[":authority"]
        if stream.too_large:
            response = json_error(
                AwsError("SerializationException", "Request body is larger than 16 MB.", 413),
                KINESIS_CONTENT_TYPE,
            )
        else:
            view = self.handler.__class__.__new__(self.handler.__class__)
            view.command = method
            view.path = raw_path
            view.headers = headers
            view.request_version = "HTTP/2.0"
            view.client_address = self.handler.client_address
            view.server = self.handler.server
            view.close_connection = False
            response = view._respond(
                headers.get("X-Amz-Target", ""), urlsplit(raw_path).path, bytes(stream.body)
            )
        try:
            self._send(stream_id, response, head_only=method == "HEAD")
        except (OSError, h2.exceptions.ProtocolError, h2.exceptions.StreamClosedError) as exc:
            logger.debug("stream %s not answered: %r", stream_id, exc)

    def _send(self, stream_id: int, response: Response, head_only: bool) -> None:
        body = b"" if head_only else response.body
        headers = [(":status", str(response.status))]
        headers += [
            (name.lower(), str(value))
            for name, value in response.headers.items()
            if name.lower() not in HOP_BY_HOP
        ]
        headers += [("content-length", str(len(response.body))), ("server", "redline-gateway")]
        with self.lock:
            self.conn.send_headers(stream_id, headers, end_stream=not body)
            self._flush()
            offset = 0
            while offset < len(body):
                window = 0
                while not self.closed:
                    window = self.conn.local_flow_control_window(stream_id)
                    if window > 0:
                        break
                    self.window_opened.wait()
                if self.closed:
                    return
                size = min(window, self.conn.max_outbound_frame_size, len(body) - offset)
                end = offset + size
                self.conn.send_data(stream_id, body[offset:end], end_stream=end >= len(body))
                offset = end
                self._flush()


def serve_connection(handler: Any, max_body_bytes: int) -> None:
    """Take over `handler`'s connection after its first line was the HTTP/2 preface's."""
    Http2Connection(handler, max_body_bytes).serve()
