"""Reading a ``func.FunctionApp``: its functions, triggers and bindings, through azure.functions' own API.

The dev host serves three trigger types: ``httpTrigger``, ``eventGridTrigger`` and ``timerTrigger``.
Functions with other triggers are listed as skipped. Extra bindings are not served either: an output
binding gets an ``Out`` whose value is discarded and an input binding gets ``None`` (a warning says so).
"""

from __future__ import annotations

import enum
import importlib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func

from .log import log
from .ncrontab import CrontabError, CrontabSchedule
from .routes import RouteTemplate, RouteTemplateError
from .settings import SettingsError, resolve_setting_references

__all__ = [
    "AppIndex",
    "EventGridFunction",
    "HttpFunction",
    "IndexingError",
    "TimerFunction",
    "index_app",
    "load_app",
]

Binding = Mapping[str, Any]


class IndexingError(RuntimeError):
    """A function the dev host cannot serve as declared: bad schedule, missing setting, bad route."""


@dataclass(frozen=True)
class IndexedFunction:
    """What every served function has: its name, the user's callable and its arguments."""

    name: str
    func: Callable[..., Any]
    arg_name: str
    extra_args: Mapping[str, Callable[[], Any]] = field(default_factory=dict)

    def arguments(self, trigger_value: Any) -> dict[str, Any]:
        """Keyword arguments for one invocation: the trigger value plus stand-ins for other bindings."""
        values = {name: make() for name, make in self.extra_args.items()}
        values[self.arg_name] = trigger_value
        return values


@dataclass(frozen=True)
class HttpFunction(IndexedFunction):
    """An HTTP-triggered function: its route below ``api/`` and accepted methods (``None``: all)."""

    route: RouteTemplate = field(default_factory=lambda: RouteTemplate.compile(""))
    methods: frozenset[str] | None = None
    #: ``anonymous``, ``function`` (the host's default) or ``admin``.
    auth_level: str = "function"


@dataclass(frozen=True)
class EventGridFunction(IndexedFunction):
    """An Event Grid-triggered function."""


@dataclass(frozen=True)
class TimerFunction(IndexedFunction):
    """A timer-triggered function with its schedule resolved and parsed."""

    schedule: CrontabSchedule = field(default_factory=lambda: CrontabSchedule.parse("0 0 0 * * *"))
    run_on_startup: bool = False


@dataclass(frozen=True)
class AppIndex:
    """All served functions; HTTP functions sorted most specific route first."""

    http: tuple[HttpFunction, ...]
    event_grid: Mapping[str, EventGridFunction]
    timers: Mapping[str, TimerFunction]
    skipped: tuple[str, ...] = ()


class _DiscardedOut(func.Out[Any]):
    """Stands in for an output binding the dev host does not serve."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value


def load_app(spec: str) -> func.FunctionApp:
    """Import ``module:attribute`` (attribute defaults to ``app``) from the current directory."""
    module_name, _, attribute = spec.partition(":")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    app = getattr(importlib.import_module(module_name), attribute or "app")
    if not isinstance(app, func.FunctionApp):
        raise TypeError(f"{spec} is a {type(app).__name__}, not an azure.functions.FunctionApp")
    return app


def _functions_of(app: func.FunctionApp) -> list[func.Function]:
    # get_functions() remembers the names it has seen and raises on a second call; index without
    # leaving that trace so the app (and this host) can be indexed again.
    saved = app.functions_bindings
    app.functions_bindings = {}
    try:
        return app.get_functions()
    finally:
        app.functions_bindings = saved


def _text(value: Any) -> str:
    return str(value.value if isinstance(value, enum.Enum) else value)


def _direction(binding: Binding) -> str:
    value = binding.get("direction")
    return (value.name if isinstance(value, enum.Enum) else str(value)).upper()


def _extra_args(name: str, bindings: list[Binding], trigger: Binding) -> dict[str, Callable[[], Any]]:
    extras: dict[str, Callable[[], Any]] = {}
    for binding in bindings:
        arg = str(binding.get("name"))
        if binding is trigger or arg == "$return":
            continue
        log(f"warning: {name}: binding {arg!r} ({binding.get('type')}) is not served by the dev host")
        extras[arg] = _DiscardedOut if _direction(binding) == "OUT" else (lambda: None)
    return extras


def _build(function: func.Function, environ: Mapping[str, str]) -> IndexedFunction | None:
    name = function.get_function_name() or function.get_user_function().__name__
    bindings: list[Binding] = function.get_bindings_dict()["bindings"]
    trigger = next((b for b in bindings if str(b.get("type", "")).endswith("Trigger")), None)
    if trigger is None:
        return None
    common: dict[str, Any] = {
        "name": name,
        "func": function.get_user_function(),
        "arg_name": str(trigger["name"]),
        "extra_args": _extra_args(name, bindings, trigger),
    }
    kind = trigger["type"]
    if kind == "httpTrigger":
        return _http_function(common, trigger)
    if kind == "eventGridTrigger":
        return EventGridFunction(**common)
    if kind == "timerTrigger":
        return _timer_function(common, trigger, environ)
    return None


def _http_function(common: dict[str, Any], trigger: Binding) -> HttpFunction:
    route = str(trigger.get("route") or common["name"])
    methods = trigger.get("methods")
    accepted = frozenset(_text(m).upper() for m in methods) if methods else None
    try:
        template = RouteTemplate.compile(route)
    except RouteTemplateError as error:
        raise IndexingError(f"HTTP function {common['name']!r}: {error}") from error
    level = _text(trigger.get("authLevel") or "function").lower()
    return HttpFunction(**common, route=template, methods=accepted, auth_level=level)


def _timer_function(common: dict[str, Any], trigger: Binding, environ: Mapping[str, str]) -> TimerFunction:
    try:
        schedule = CrontabSchedule.parse(resolve_setting_references(str(trigger["schedule"]), environ))
    except (CrontabError, SettingsError) as error:
        raise IndexingError(f"timer function {common['name']!r}: {error}") from error
    return TimerFunction(**common, schedule=schedule, run_on_startup=bool(trigger.get("runOnStartup")))


def index_app(app: func.FunctionApp, environ: Mapping[str, str] | None = None) -> AppIndex:
    """Index ``app``; raises on a bad timer schedule, a missing ``%SETTING%`` or a bad route."""
    source = os.environ if environ is None else environ
    http: list[HttpFunction] = []
    event_grid: dict[str, EventGridFunction] = {}
    timers: dict[str, TimerFunction] = {}
    skipped: list[str] = []
    for function in _functions_of(app):
        built = _build(function, source)
        if isinstance(built, HttpFunction):
            http.append(built)
        elif isinstance(built, EventGridFunction):
            event_grid[built.name] = built
        elif isinstance(built, TimerFunction):
            timers[built.name] = built
        else:
            skipped.append(function.get_function_name() or "?")
    http.sort(key=lambda f: f.route.precedence)
    return AppIndex(tuple(http), event_grid, timers, tuple(skipped))
