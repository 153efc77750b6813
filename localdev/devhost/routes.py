"""HTTP trigger route templates, matched as ASP.NET Core routing (which the Functions host uses) does.

Supported: literal segments (matched case-insensitively), ``{name}``, ``{name?}`` and ``{name=default}``
(optional), ``{*rest}`` / ``{**rest}`` (catch-all, last segment), the constraints ``int``, ``long``,
``alpha``, ``bool``, ``guid``, ``double``, ``decimal`` and ``float`` (others are accepted and not checked),
and segments that mix literals and parameters (``{name}.{ext}``). When several templates match, the more
specific one wins: literal before constrained parameter before parameter before optional before
catch-all, segment by segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

__all__ = ["RouteTemplate", "RouteTemplateError"]

_PARAMETER = re.compile(r"\{([^{}]+)\}")
_NUMBER = r"-?[0-9]+(?:\.[0-9]+)?"
_CONSTRAINTS = {
    "int": r"-?[0-9]+",
    "long": r"-?[0-9]+",
    "alpha": r"[A-Za-z]+",
    "bool": r"(?:true|false)",
    "guid": r"\{?[0-9A-Fa-f]{8}-?(?:[0-9A-Fa-f]{4}-?){3}[0-9A-Fa-f]{12}\}?",
    "double": _NUMBER,
    "decimal": _NUMBER,
    "float": _NUMBER,
}
_LITERAL, _COMPLEX, _CONSTRAINED, _PLAIN, _OPTIONAL, _CATCH_ALL = range(6)


class RouteTemplateError(ValueError):
    """A route template this module cannot read."""


@dataclass(frozen=True)
class _Parameter:
    name: str
    pattern: str
    optional: bool
    default: str | None
    catch_all: bool


def _parse_parameter(text: str, template: str) -> _Parameter:
    catch_all = text.startswith("*")
    body = text.lstrip("*")
    body, equals, default = body.partition("=")
    optional = body.endswith("?") or bool(equals) or catch_all
    name, *constraints = body.rstrip("?").split(":")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise RouteTemplateError(f"route {template!r}: {name!r} is not a parameter name")
    known = [_CONSTRAINTS[c.lower()] for c in constraints if c.lower() in _CONSTRAINTS]
    pattern = ".*" if catch_all else (known[0] if known else "[^/]+")
    return _Parameter(name, pattern, optional, default if equals else None, catch_all)


@dataclass(frozen=True)
class RouteTemplate:
    """A compiled route template; ``match`` returns the route parameters or ``None``."""

    template: str
    regex: re.Pattern[str]
    parameters: tuple[_Parameter, ...]
    precedence: tuple[int, ...]

    @classmethod
    def compile(cls, template: str) -> RouteTemplate:
        """Compile ``template`` (without the ``api/`` prefix)."""
        segments = [segment for segment in template.strip("/").split("/") if segment]
        parts: list[str] = []
        parameters: list[_Parameter] = []
        precedence: list[int] = []
        for position, segment in enumerate(segments):
            pattern, kind = _compile_segment(segment, template, parameters, position, len(segments))
            parts.append(pattern)
            precedence.append(kind)
        regex = re.compile("^" + "".join(parts) + "/?$", re.IGNORECASE | re.DOTALL)
        return cls(template, regex, tuple(parameters), tuple(precedence))

    def match(self, path: str) -> dict[str, str] | None:
        """Match a raw (still percent-encoded) path below the route prefix, e.g. ``/items/42``."""
        found = self.regex.match(path if path.startswith("/") else "/" + path)
        if found is None:
            return None
        values: dict[str, str] = {}
        for index, parameter in enumerate(self.parameters):
            value = found.group(f"p{index}")
            if value:
                values[parameter.name] = unquote(value)
            elif parameter.default is not None:
                values[parameter.name] = parameter.default
        return values


def _compile_segment(
    segment: str, template: str, parameters: list[_Parameter], position: int, count: int
) -> tuple[str, int]:
    whole = _PARAMETER.fullmatch(segment)
    if whole:
        parameter = _parse_parameter(whole.group(1), template)
        if parameter.catch_all and position != count - 1:
            raise RouteTemplateError(f"route {template!r}: a catch-all parameter must be the last segment")
        group = f"(?P<p{len(parameters)}>{parameter.pattern})"
        parameters.append(parameter)
        if parameter.optional:
            return f"(?:/{group})?", _CATCH_ALL if parameter.catch_all else _OPTIONAL
        constrained = parameter.pattern != "[^/]+"
        return "/" + group, _CONSTRAINED if constrained else _PLAIN
    if "{" not in segment and "}" not in segment:
        return "/" + re.escape(segment), _LITERAL
    return "/" + _compile_complex(segment, template, parameters), _COMPLEX


def _compile_complex(segment: str, template: str, parameters: list[_Parameter]) -> str:
    pattern, cursor = "", 0
    for found in _PARAMETER.finditer(segment):
        pattern += re.escape(segment[cursor : found.start()])
        parameter = _parse_parameter(found.group(1), template)
        if parameter.catch_all:
            raise RouteTemplateError(f"route {template!r}: a catch-all parameter must be a whole segment")
        inner = "[^/]+?" if parameter.pattern == "[^/]+" else parameter.pattern
        pattern += f"(?P<p{len(parameters)}>{inner})"
        parameters.append(parameter)
        cursor = found.end()
    rest = segment[cursor:]
    if "{" in rest or "}" in rest:
        raise RouteTemplateError(f"route {template!r}: unbalanced braces in {segment!r}")
    return pattern + re.escape(rest)
