"""The in-process dev host: :func:`start_devhost` serves a ``func.FunctionApp`` from a daemon thread."""

from __future__ import annotations

import threading
from types import TracebackType

import azure.functions as func

from .index import AppIndex, index_app
from .invoker import Invoker
from .keys import HostKeys
from .log import log
from .server import DevHostServer, Router
from .timers import TimerRunner

__all__ = ["DevHost", "start_devhost"]


class DevHost:
    """A running dev host. ``url`` is its base URL; ``shutdown()`` stops timers and the server."""

    def __init__(self, server: DevHostServer, router: Router) -> None:
        self._server = server
        self._router = router
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="devhost-http", daemon=True
        )
        self._stopped = False
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        """The address listened on, as given (``0.0.0.0``/``::`` are reported as loopback in ``url``)."""
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        """The TCP port listened on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:7071`` (no trailing slash)."""
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def index(self) -> AppIndex:
        """The functions served."""
        return self._router.index

    def fire_timer(self, name: str, *, past_due: bool = False) -> bool:
        """Invoke timer function ``name`` now (after any running invocation); True if it succeeded."""
        return self._router.timers.fire(name, past_due=past_due)

    def _start(self, run_timers: bool) -> None:
        self._thread.start()
        if run_timers:
            self._router.timers.start()

    def shutdown(self) -> None:
        """Stop the timers, close the server and the async event loop. Safe to call twice."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._router.timers.stop()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._router.invoker.close()
        log("stopped")

    def __enter__(self) -> DevHost:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.shutdown()


def _describe(index: AppIndex, url: str) -> list[str]:
    lines = ["Functions:"]
    for function in index.http:
        methods = ",".join(sorted(function.methods)) if function.methods else "all methods"
        lines.append(f"  {function.name}: [{methods}] {url}/api/{function.route.template.strip('/')}")
    for name in index.event_grid:
        lines.append(f"  {name}: eventGridTrigger {url}/runtime/webhooks/eventgrid?functionName={name}")
    lines += [f"  {name}: timerTrigger '{timer.schedule.expression}'" for name, timer in index.timers.items()]
    lines += [f"  {name}: skipped (trigger not served by the dev host)" for name in index.skipped]
    return lines


def start_devhost(
    app: func.FunctionApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    run_timers: bool = True,
    keys: HostKeys | None = None,
) -> DevHost:
    """Index ``app`` and serve it on ``host:port`` (0: a free port) from a daemon thread.

    Raises on a function the dev host cannot serve as declared (bad schedule, missing ``%SETTING%``, bad
    route) or when the port cannot be bound. With ``run_timers=False`` timers fire only through
    :meth:`DevHost.fire_timer` or ``POST /admin/functions/<name>``. ``keys``: the function and
    system keys to check (none by default, as under ``func start``).
    """
    index = index_app(app)
    invoker = Invoker()
    router = Router(index, invoker, TimerRunner(index.timers, invoker), keys)
    devhost = DevHost(DevHostServer((host, port), router), router)
    for line in _describe(index, devhost.url):
        log(line)
    devhost._start(run_timers)
    return devhost
