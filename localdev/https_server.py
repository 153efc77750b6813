"""The server the HTTPS stand-ins share: a ``ThreadingHTTPServer`` that does the TLS handshake in
the request thread (a slow client never holds up the accept loop) and keeps a long listen queue;
and, for stand-ins served in process, a handler base and a serving thread."""

from __future__ import annotations

import socket
import socketserver
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from localdev.serve_cli import LISTEN_BACKLOG
from localdev.tls import LocalTLS

_HANDSHAKE_TIMEOUT_S = 30.0


class StandInHandler(BaseHTTPRequestHandler):
    """Sends every method to ``serve()``; quiet, since each stand-in keeps its own request log."""

    protocol_version = "HTTP/1.1"
    timeout = 60
    wbufsize = 64 * 1024  # headers and body leave in one write (flushed after each request)
    server: TLSServer

    def serve(self) -> None:
        """Answer the request (subclasses)."""
        raise NotImplementedError

    def do_GET(self) -> None:
        self.serve()

    def do_HEAD(self) -> None:
        self.serve()

    def do_POST(self) -> None:
        self.serve()

    def do_PUT(self) -> None:
        self.serve()

    def do_PATCH(self) -> None:
        self.serve()

    def do_DELETE(self) -> None:
        self.serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet; the stand-in's ``GET /_emulator/requests`` is the log."""

    def read_parts(self) -> tuple[str, dict[str, str], dict[str, str], bytes]:
        """The raw path, the query, the headers and the body of the request."""
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        return (
            parts.path,
            dict(parse_qsl(parts.query, keep_blank_values=True)),
            dict(self.headers.items()),
            self.rfile.read(length) if length > 0 else b"",
        )


class HTTPSServer(ThreadingHTTPServer):
    """Accepts plain TCP connections and performs the TLS handshake in the request thread."""

    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.ssl_context = context
        super().__init__(address, handler)

    def server_bind(self) -> None:
        """Bind without the reverse-DNS lookup ``HTTPServer.server_bind`` makes."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.socket.getsockname()[:2]
        self.server_name = host
        self.server_port = port

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Wrap the connection in TLS, then serve it; handshake failures just drop it."""
        request.settimeout(_HANDSHAKE_TIMEOUT_S)
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            connection = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(connection, client_address, self)  # type: ignore[arg-type]
        except (ssl.SSLError, OSError):
            pass
        finally:
            connection.close()


class TLSServer(HTTPSServer):
    """Serves ``handler`` over TLS with the local certificate; ``state`` is whatever the handler
    needs."""

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], state: Any, tls: LocalTLS
    ) -> None:
        self.state = state
        super().__init__(address, handler, server_context(tls.cert_file, tls.key_file))

    @property
    def origin(self) -> str:
        """``https://host:port`` of the listening socket."""
        host, port = self.socket.getsockname()[:2]
        return f"https://{f'[{host}]' if ':' in host else host}:{port}"


class ServingThread:
    """A ``TLSServer`` serving in a daemon thread: its ``url``, ``state`` and ``shutdown()``."""

    def __init__(self, httpd: TLSServer, name: str) -> None:
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name=name, daemon=True)
        self._thread.start()
        self.state = httpd.state
        self.url = httpd.origin
        """The origin, e.g. ``https://127.0.0.1:8443`` (no trailing slash)."""

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self._httpd.socket.getsockname()[1])

    def shutdown(self) -> None:
        """Stop serving, close the listening socket and wait for the serving thread."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


def server_context(cert_file: Any, key_file: Any) -> ssl.SSLContext:
    """The TLS context of a local HTTPS server with the given certificate chain and key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile=cert_file, keyfile=key_file)
    return context
