"""The local servers (dev host, HTTPS stand-ins) hold a burst of connections while they are busy,
instead of dropping or resetting them as a listen queue of 5 does."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from socketserver import TCPServer

import pytest

from localdev.devhost.server import DevHostServer
from localdev.https_server import HTTPSServer, server_context
from localdev.tls import ensure_local_tls

pytestmark = pytest.mark.integration

BURST = 20


def devhost_server(tmp: Path) -> TCPServer:
    return DevHostServer(("127.0.0.1", 0), router=None)  # type: ignore[arg-type]  # never serves


def https_server(tmp: Path) -> TCPServer:
    tls = ensure_local_tls(tmp)
    return HTTPSServer(("127.0.0.1", 0), BaseHTTPRequestHandler, server_context(tls.cert_file, tls.key_file))


def connections_established(port: int, count: int, settle_s: float = 2.0) -> int:
    """Open ``count`` connections at once to a server that does not accept them yet; how many
    the kernel establishes (queued for accept) within ``settle_s``."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
        pending, established = set(sockets), 0
        deadline = time.monotonic() + settle_s
        while pending and time.monotonic() < deadline:
            _, writable, _ = select.select([], list(pending), [], 0.1)
            for sock in writable:
                pending.discard(sock)
                established += sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
        return established
    finally:
        for sock in sockets:
            sock.close()


@pytest.mark.parametrize("make", [devhost_server, https_server], ids=["devhost", "https-stand-in"])
def test_a_busy_server_holds_twenty_simultaneous_connections(
    make: Callable[[Path], TCPServer], tmp_path: Path
) -> None:
    server = make(tmp_path)
    try:
        port = server.socket.getsockname()[1]
        assert connections_established(port, BURST) == BURST
    finally:
        server.server_close()
