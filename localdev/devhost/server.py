"""The HTTP side of the dev host: a ``ThreadingHTTPServer`` and the routing of its requests.

Paths served, as by the Functions host under ``func start``:

- ``/api/<route>``: HTTP triggers (:mod:`.http_triggers`); bodies up to 100 MB (the host's limit);
- ``/runtime/webhooks/eventgrid``: Event Grid triggers (:mod:`.eventgrid`); bodies up to 1 MB;
- ``POST /admin/functions/<name>``: runs a timer (or an Event Grid function with ``{"input": "<event
  JSON>"}``) in the background and answers 202, as the host's admin API does;
- ``GET /`` (a short page) and ``GET /admin/host/status`` (``{"state": "Running"}``).

Function and system keys are checked as the host checks them when they are set (:mod:`.keys`); the
admin API needs no key here. A body over the limit answers 413; JSON the dev host itself reads that
is nested too deeply answers 400.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from localdev.serve_cli import LISTEN_BACKLOG

from .eventgrid import EVENTGRID_WEBHOOK_PATH, MAX_EVENTGRID_BODY, decode_event, handle_eventgrid_webhook
from .http_triggers import ROUTE_PREFIX, handle_http_trigger
from .index import AppIndex
from .invoker import Invoker
from .keys import HostKeys
from .log import log_exception, log_invocation
from .messages import IncomingRequest, Reply
from .timers import TimerRunner

__all__ = ["MAX_HTTP_BODY", "DevHostServer", "Router"]

MAX_HTTP_BODY = 100 * 1024 * 1024
_HOMEPAGE = "<html><body><h1>Your Functions dev host is up and running.</h1></body></html>"


class Router:
    """Maps a request to the function it triggers (or to the host's own endpoints)."""

    def __init__(
        self, index: AppIndex, invoker: Invoker, timers: TimerRunner, keys: HostKeys | None = None
    ) -> None:
        self.index = index
        self.invoker = invoker
        self.timers = timers
        self.keys = keys or HostKeys()

    @staticmethod
    def body_limit(path: str) -> int:
        """The largest body accepted on ``path``."""
        return MAX_EVENTGRID_BODY if _is_eventgrid(path) else MAX_HTTP_BODY

    def dispatch(self, request: IncomingRequest) -> Reply:
        """Answer ``request``."""
        path = request.path
        prefix = "/" + ROUTE_PREFIX
        if path.lower() == prefix or path.lower().startswith(prefix + "/"):
            return handle_http_trigger(self.index, self.invoker, request, path[len(prefix) :], self.keys)
        if _is_eventgrid(path):
            return self._eventgrid(request)
        if path.lower().startswith("/admin/functions/") and request.method == "POST":
            return self._admin_invoke(unquote(path[len("/admin/functions/") :]), request.body)
        if request.method in {"GET", "HEAD"} and path.rstrip("/") == "":
            return Reply.text(200, _HOMEPAGE, content_type="text/html; charset=utf-8")
        if request.method == "GET" and path.lower().rstrip("/") == "/admin/host/status":
            return Reply.json(200, {"id": "devhost", "state": "Running", "version": "devhost"})
        return Reply(404)

    def _eventgrid(self, request: IncomingRequest) -> Reply:
        if not self.keys.allows_eventgrid(request):
            return Reply(401)
        return handle_eventgrid_webhook(self.index, self.invoker, request)

    def _admin_invoke(self, name: str, body: bytes) -> Reply:
        if name in self.index.timers:
            _in_background(name, lambda: self.timers.fire(name))
            return Reply(202)
        function = self.index.event_grid.get(name)
        if function is None:
            return Reply(404)
        try:
            event = decode_event(json.loads(json.loads(body or b"{}").get("input", "null")))
        except (ValueError, TypeError, AttributeError, RecursionError) as error:
            return Reply.text(400, f"input must be an event as a JSON string: {error}")

        def run() -> bool:
            invocation = self.invoker.invoke(name, function.func, function.arguments(event))
            outcome = "Succeeded" if invocation.succeeded else "Failed"
            log_invocation(name, outcome, invocation.duration_ms)
            return invocation.succeeded

        _in_background(name, run)
        return Reply(202)


def _is_eventgrid(path: str) -> bool:
    return path.lower().rstrip("/") == EVENTGRID_WEBHOOK_PATH


def _in_background(name: str, work: Callable[[], object]) -> None:
    threading.Thread(target=work, name=f"devhost-admin-{name}", daemon=True).start()


#: The most of an over-limit body the dev host reads (and drops) so its 413 reaches the client.
_DRAIN_LIMIT = 16 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "devhost"
    server: DevHostServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the dev host logs invocations, not every request line."""

    def _handle(self) -> None:
        split = urlsplit(self.path)
        try:
            body = self._read_body(Router.body_limit(split.path))
        except ValueError:
            self._send(Reply.text(400, "Malformed chunked body"), close=True)
            return
        if body is None:
            self._send(Reply.text(413, "Request body too large"), close=True)
            return
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        request = IncomingRequest(
            method=self.command.upper(),
            url=f"http://{host}{self.path}",
            path=split.path or "/",
            query=split.query,
            headers=tuple(self.headers.items()),
            body=body,
        )
        try:
            reply = self.server.router.dispatch(request)
        except Exception:
            log_exception(f"{request.method} {split.path} failed in the dev host:")
            reply = Reply(500)
        self._send(reply)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def _read_body(self, limit: int) -> bytes | None:
        """The request body, or ``None`` when it is over ``limit`` bytes."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked(limit)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = limit + 1
        if 0 <= length <= limit:
            return self.rfile.read(length)
        self._discard(length)
        return None

    def _discard(self, length: int) -> None:
        """Read and drop an over-limit body (up to ``_DRAIN_LIMIT``) before answering 413: closing
        a socket with unread data makes the kernel reset the connection, and the client then sees
        a broken pipe instead of the answer."""
        left = min(length, _DRAIN_LIMIT)
        while left > 0 and (chunk := self.rfile.read(min(left, 64 * 1024))):
            left -= len(chunk)

    def _read_chunked(self, limit: int) -> bytes | None:
        body = bytearray()
        while size := int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16):
            if len(body) + size > limit:
                return None
            body += self.rfile.read(size)
            self.rfile.readline(1024)
        while self.rfile.readline(1024).strip():  # trailers, up to the blank line
            pass
        return bytes(body)

    def _send(self, reply: Reply, *, close: bool = False) -> None:
        self.send_response(reply.status)
        skip = {"content-length", "transfer-encoding", "connection"}
        for name, value in reply.headers:
            if name.lower() not in skip:
                self.send_header(name, value)
        if reply.status not in {204, 304}:
            self.send_header("Content-Length", str(len(reply.body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command.upper() != "HEAD" and reply.status not in {204, 304}:
            self.wfile.write(reply.body)


class DevHostServer(ThreadingHTTPServer):
    """A threading HTTP server (IPv4 or IPv6) that hands each request to a :class:`Router`."""

    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], router: Router) -> None:
        self.router = router
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)
