"""What the HTTPS stand-ins share: a ``ThreadingHTTPServer`` that does the TLS handshake in the
request thread (a slow client never holds up the accept loop) and keeps a long listen queue; a
handler base that turns requests into :class:`Request` values and sends replies; an error base;
and a serving thread."""

from __future__ import annotations

import json
import socket
import socketserver
import ssl
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, TypeVar
from urllib.parse import parse_qsl, urlsplit

from localdev.serve_cli import LISTEN_BACKLOG
from localdev.tls import LocalTLS

_HANDSHAKE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Request:
    """One HTTP request: ``path`` is the raw (still percent-encoded) path without the query.
    Each stand-in subclasses it for :meth:`invalid`, the 400 it answers for an unreadable body."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """A header's value by case-insensitive name."""
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)

    def json(self) -> Any:
        """The parsed JSON body, ``None`` when empty (:meth:`invalid` when not JSON)."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self.invalid(f"The request body is not valid JSON: {exc}.") from exc
        except RecursionError as exc:
            raise self.invalid("The request body is nested too deeply.") from exc

    def form(self) -> dict[str, str]:
        """The ``application/x-www-form-urlencoded`` body as a dict."""
        try:
            return dict(parse_qsl(self.body.decode(), keep_blank_values=True))
        except UnicodeDecodeError as exc:
            raise self.invalid("The form body is not UTF-8.") from exc

    def invalid(self, message: str) -> Exception:
        """The error a body that cannot be read is answered with (the stand-in's 400)."""
        return ValueError(message)

    def log_entry(self, body: Any) -> dict[str, Any]:
        """The request as a stand-in's request log shows it, with ``body`` as the stand-in reads
        it: the ``Authorization`` header's credential masked (``Bearer ***``)."""
        headers = dict(self.headers)
        for key, value in headers.items():
            if key.lower() == "authorization":
                headers[key] = f"{value.split(' ', 1)[0]} ***"
        return {
            "time": time.time(),
            "method": self.method,
            "path": self.path,
            "query": dict(self.query),
            "headers": headers,
            "body": body,
        }


class StandInError(Exception):
    """An error a stand-in answers with an HTTP status; each stand-in shapes the body (``body()``
    or ``reply()``) as its service does."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


R = TypeVar("R", bound=Request)


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

    def read_request(self, kind: type[R]) -> R:
        """The request as a ``kind`` value (the stand-in's :class:`Request`)."""
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        return kind(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=dict(self.headers.items()),
            body=self.rfile.read(length) if length > 0 else b"",
        )

    def send(self, status: int, data: bytes, headers: Mapping[str, str]) -> None:
        """Answer ``status`` with ``data`` (none to ``HEAD``), its length, an ``x-ms-request-id``
        and ``headers``; a client that went away just closes the connection."""
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-ms-request-id", str(uuid.uuid4()))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except OSError:
            self.close_connection = True


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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()


def server_context(cert_file: Any, key_file: Any) -> ssl.SSLContext:
    """The TLS context of a local HTTPS server with the given certificate chain and key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile=cert_file, keyfile=key_file)
    return context
