"""The server the HTTPS stand-ins share: a ``ThreadingHTTPServer`` that does the TLS handshake in
the request thread (a slow client never holds up the accept loop) and keeps a long listen queue."""

from __future__ import annotations

import socket
import socketserver
import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from localdev.serve_cli import LISTEN_BACKLOG

_HANDSHAKE_TIMEOUT_S = 30.0


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


def server_context(cert_file: Any, key_file: Any) -> ssl.SSLContext:
    """The TLS context of a local HTTPS server with the given certificate chain and key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile=cert_file, keyfile=key_file)
    return context
