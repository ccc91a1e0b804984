"""What every fake API server shares: a threaded loopback server that closes its open connections on stop, and
the start / stop / `with` life cycle of a fake serving from a background thread."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


class LocalServer(ThreadingHTTPServer):
    """A threaded HTTP server on 127.0.0.1 (a free port) that remembers open connections, so that stopping it
    closes them too. `fake` is the object the handler answers for."""

    daemon_threads = True

    def __init__(self, fake: Any, handler: type[BaseHTTPRequestHandler]) -> None:
        self.fake = fake
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # skip HTTPServer's getfqdn(), a slow reverse DNS lookup
        self.server_name, self.server_port = "127.0.0.1", int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that timed out and hung up is normal
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class LocalHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, quiet; every method goes to `_handle`, which a fake's handler writes."""

    protocol_version = "HTTP/1.1"
    timeout = 60  # an idle keep-alive connection is closed after this many seconds

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        raise NotImplementedError

    def _skip_body(self) -> None:
        """Read (and ignore) a request body, so that the connection can be reused."""
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)


class Serving:
    """Start / stop / `with` for a fake whose `_server` serves from a daemon thread; `_on_stop` cleans up."""

    _server: LocalServer
    _thread: threading.Thread | None = None
    url: str

    def start(self) -> Self:
        """Serve in a daemon thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"{type(self).__name__}-{self.url}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every open connection and the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.close_connections()
        self._server.server_close()
        self._on_stop()

    def _on_stop(self) -> None:
        """What a fake cleans up after serving (nothing by default)."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
