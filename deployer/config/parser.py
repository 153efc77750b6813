"""The deployer's configuration file (YAML): registries, agents and their rules, read into domain
values through one set of models (``document``, ``agent``, ``subscribers``), whose JSON Schema
:func:`json_schema` exports.

Every problem names its field (``agents[1].memory``) and says what is wrong, an unknown key with
the known one it may stand for; all are reported at once. ``${NAME}`` in a value is read from the
app settings, so secrets never sit in the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError, WithJsonSchema, model_validator

from deployer.config import checks
from deployer.config.agent import Agent
from deployer.config.checks import Problem, fail
from deployer.config.document import Model, _mapping, _schema
from deployer.config.reading import Reading
from deployer.config.settings import unresolved_reference
from deployer.config.subscribers import Topic, Webhook
from deployer.domain.addresses import Resolver, system_resolve
from deployer.domain.agents import DeployerConfig

_SETTING_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: Keys an agent inherits from the top level when it does not set them.
_INHERITED_KEYS = ("grant_runtime_role", "project_resource_id", "registry_check")
_HOOKS = "url, secret, events, agents, format"


class ConfigError(ValueError):
    """The configuration is invalid; ``problems`` lists each field and what is wrong with it, and
    ``errors`` the same as ``{field, message}`` (with ``line`` and ``column`` where the file says)."""

    def __init__(self, problems: list[str], errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems
        self.errors = errors if errors is not None else [_error(p) for p in problems]


def _error(problem: str, at: tuple[int, int] | None = None) -> dict[str, Any]:
    field, found, message = problem.partition(": ")
    if not found:  # a problem of the whole file
        field, message = "", problem
    return {"field": field, "message": message, **({"line": at[0], "column": at[1]} if at else {})}


def _list(message: str) -> BeforeValidator:
    def check(value: object) -> object:
        if not isinstance(value, list) or not value:
            raise fail(message)
        return value

    return BeforeValidator(check)


Days = Annotated[Any, BeforeValidator(checks.days)]


def _days(kept: str) -> WithJsonSchema:
    return _schema({"type": "integer", "minimum": 1}, f"days {kept} are kept")


def _hooks(value: object) -> object:
    if value is not None and not isinstance(value, list):
        raise fail(f"must be a list of mappings with {_HOOKS}")
    return value


class Document(Model):
    """``deployer.yaml``: the registry allow-list, the agents, and who is notified."""

    REQUIRED = ("registries", "agents")
    registries: Annotated[
        Any,
        BeforeValidator(checks.registry_list),
        _schema({"type": "array", "items": {"type": "string"}, "minItems": 1}),
    ] = Field(default=None, validate_default=True)
    agents: Annotated[
        list[Annotated[Agent, _mapping("must be a mapping")]], _list("must be a non-empty list")
    ] = Field(default=None, validate_default=True)
    webhooks: (
        Annotated[
            list[Annotated[Webhook, _mapping(f"must be a mapping with {_HOOKS}")]], BeforeValidator(_hooks)
        ]
        | None
    ) = None
    event_grid_topic: Annotated[Topic, _mapping("must be a mapping with endpoint")] | None = None
    grant_runtime_role: Annotated[Any, _schema({"type": "boolean"}, "the default of every agent")] = None
    project_resource_id: Annotated[Any, _schema({"type": "string"}, "the default of every agent")] = None
    history_retention_days: Annotated[
        Days, _days("finished deployment records, their idempotency keys and dead notifications")
    ] = 90
    ignored_retention_days: Annotated[
        Days, _days("records of ignored and refused events, and delivered notifications")
    ] = 7
    registry_check: Annotated[Any, _schema({"type": "boolean"}, "the default of every agent")] = None

    @model_validator(mode="after")
    def _across(self) -> Document:
        found = [
            (f"agents[{i}].promote_to.agent", f"{a.name!r} must be another configured agent, not itself")
            for i, a in enumerate(self.agents)
            if a.promote_to is not None and a.promote_to.agent == a.name
        ]
        hooks = self.webhooks or []
        keys = [(h.format, h.url) for h in hooks]
        found += [
            ("webhooks", f"{h.origin} is configured twice with format {h.format}")
            for i, h in enumerate(hooks)
            if keys[i] in keys[:i]
        ]
        if found:
            raise Problem(*found)
        return self

    def value(self) -> DeployerConfig:
        return DeployerConfig(
            registries=self.registries,
            agents=tuple(a.value() for a in self.agents),
            webhooks=tuple(h.value() for h in self.webhooks or ()),
            event_grid_topic=self.event_grid_topic.value() if self.event_grid_topic else None,
            history_retention_days=self.history_retention_days,
            ignored_retention_days=self.ignored_retention_days,
        )


def parse_config(
    raw: object,
    settings: Mapping[str, str],
    *,
    resolver: Resolver | None = None,
    resolve_names: bool = True,
) -> DeployerConfig:
    """Validate the loaded YAML document ``raw``; raise :class:`ConfigError` listing all problems.
    Webhook and topic hosts are resolved with ``resolver`` (default: DNS) to refuse internal
    addresses; ``WEBHOOKS_ALLOW_LOOPBACK=true`` in ``settings`` allows loopback receivers.
    ``resolve_names=False`` (the running app) checks literal IPs only: what a name resolves to
    can change, so it is checked when sending, and fails that subscriber alone."""
    if not isinstance(raw, Mapping):
        raise ConfigError(["the file must be a mapping with 'registries' and 'agents'"])
    problems: list[str] = []
    expanded = _expand(raw, settings, "", problems)
    assert isinstance(expanded, Mapping)
    names = _names(expanded.get("agents"))
    problems += [
        f"agents[{i}].name: {n!r} is configured twice" for i, n in enumerate(names) if n and n in names[:i]
    ]
    context = {
        "resolver": (resolver or system_resolve) if resolve_names else _unresolved,
        "allow_loopback": settings.get("WEBHOOKS_ALLOW_LOOPBACK", "").lower() == "true",
        "agents": names,
    }
    document = {**expanded, **({"agents": _inherit(expanded)} if "agents" in expanded else {})}
    try:
        validated = Document.model_validate(document, context=context)
    except ValidationError as exc:
        unset = _unset(problems, expanded)
        found = Reading(Document, document, exc.errors()).problems()
        raise ConfigError(problems + [p for p in found if not _within(p.split(": ", 1)[0], unset)]) from None
    if problems:
        raise ConfigError(problems)
    return validated.value()


def load_config(path: str, settings: Mapping[str, str], *, resolve_names: bool = True) -> DeployerConfig:
    """Read and validate the YAML file at ``path`` (``resolve_names``: see :func:`parse_config`).
    Each problem starts with where it is written, ``path:line:column:``, and a key set twice in
    one mapping is a problem."""
    import yaml

    from deployer.config.source import read_source

    try:
        with open(path, encoding="utf-8") as handle:
            source = read_source(handle.read())
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror})"]) from None
    except yaml.YAMLError as exc:
        raise _not_yaml(path, exc) from None
    problems = list(source.duplicates)
    try:
        config = parse_config(source.document, settings, resolve_names=resolve_names)
    except ConfigError as exc:
        problems += exc.problems
    if problems:
        located = sorted(((source.locate(p.split(": ", 1)[0]), p) for p in problems), key=_line)
        raise ConfigError(
            [f"{path}:{at[0]}:{at[1]}: {p}" if at else f"{path}: {p}" for at, p in located],
            [_error(p, at) for at, p in located],
        )
    return config


def _not_yaml(path: str, exc: Exception) -> ConfigError:
    """Where the YAML stops parsing, and what it was in the middle of (``yaml.MarkedYAMLError``)."""
    mark, context, since = (getattr(exc, name, None) for name in ("problem_mark", "context", "context_mark"))
    message = f"not valid YAML: {getattr(exc, 'problem', None) or exc}"
    if context and since:
        message += f" ({context} at line {since.line + 1}, column {since.column + 1})"
    if mark is None:
        return ConfigError([f"{path}: {message}"], [{"field": "", "message": message}])
    line, column = mark.line + 1, mark.column + 1
    error = {"field": "", "message": message, "line": line, "column": column}
    return ConfigError([f"{path}:{line}:{column}: {message}"], [error])


def _line(located: tuple[tuple[int, int] | None, str]) -> tuple[int, int]:
    return located[0] or (0, 0)


def _unresolved(host: str) -> list[str]:
    """A resolver that resolves nothing: names are left to the send-time check."""
    return []


def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``deployer.yaml``, for editors (``# yaml-language-server: $schema=``)."""
    schema = Document.model_json_schema()
    models: dict[str, type[Model]] = {m.__name__: m for m in Model.__subclasses__()}
    for name, definition in [("Document", schema), *schema["$defs"].items()]:
        for field in models[name].REQUIRED:
            definition["properties"][field].pop("default", None)
        if models[name].REQUIRED:
            definition["required"] = list(models[name].REQUIRED)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "agent-deployer configuration (deployer.yaml)",
    }


def _names(agents: object) -> list[str | None]:
    """The name of each agent as written (``None`` where it has none), for the checks across them."""
    if not isinstance(agents, list):
        return []
    return [
        a.get("name") if isinstance(a, Mapping) and isinstance(a.get("name"), str) else None for a in agents
    ]


def _expand(value: object, settings: Mapping[str, str], where: str, problems: list[str]) -> object:
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in settings:
                problems.append(f"{where or 'value'}: ${{{name}}} is not set as an app setting")
                return ""
            unresolved = unresolved_reference(name, settings[name])
            if unresolved:
                problems.append(f"{where or 'value'}: ${{{name}}}: {unresolved}")
                return ""
            return settings[name]

        return _SETTING_REF.sub(lookup, value)
    if isinstance(value, Mapping):
        return {
            k: _expand(v, settings, f"{where}.{k}" if where else str(k), problems) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_expand(v, settings, f"{where}[{i}]", problems) for i, v in enumerate(value)]
    return value


def _unset(problems: list[str], expanded: Mapping[str, Any]) -> set[str]:
    """The fields whose ``${NAME}`` could not be read (already reported), with the agents'
    fields inherited from them: their values are not checked again."""
    unset = {p.split(": ", 1)[0] for p in problems if ": ${" in p}
    agents = expanded.get("agents")
    for i, agent in enumerate(agents if isinstance(agents, list) else []):
        if isinstance(agent, Mapping):
            unset |= {f"agents[{i}].{k}" for k in _INHERITED_KEYS if k in unset and k not in agent}
    return unset


def _within(where: str, fields: set[str]) -> bool:
    return any(where == f or where.startswith((f"{f}.", f"{f}[")) for f in fields)


def _inherit(raw: Mapping[str, Any]) -> object:
    """The ``agents`` list, each agent given the top-level keys (runtime role, registry check) it
    does not set itself."""
    agents, defaults = raw.get("agents"), {k: raw[k] for k in _INHERITED_KEYS if k in raw}
    if not isinstance(agents, list) or not defaults:
        return agents
    return [{**defaults, **a} if isinstance(a, Mapping) else a for a in agents]
