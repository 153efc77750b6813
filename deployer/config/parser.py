"""The deployer's configuration file (YAML): registries, agents and their rules, validated.

Every error names the field (``agents[1].memory``) and says what is wrong; all errors are
reported at once. ``${NAME}`` in a value is read from the app settings, so secrets never
sit in the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from deployer.config.canary import check_promotions
from deployer.config.roles import runtime_role_options
from deployer.config.smoke import rollout_options
from deployer.config.subscribers import SubscriberRules, parse_topic, parse_webhooks
from deployer.domain.addresses import Resolver, system_resolve
from deployer.domain.agents import AGENT_NAME, PROTOCOLS, AgentConfig, DeployerConfig
from deployer.domain.imageref import is_valid_registry, is_valid_repository
from deployer.domain.subscribers import EventGridTopic, Webhook
from deployer.domain.tag_policy import TagPolicy, TagPolicyError

_CPU = re.compile(r"^(?:\d+(?:\.\d+)?|\d+m)$")
_MEMORY = re.compile(r"^\d+(?:\.\d+)?(?:Mi|Gi)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SETTING_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

#: Keys an agent inherits from the top level when it does not set them.
_INHERITED_KEYS = ("grant_runtime_role", "project_resource_id", "registry_check")
_AGENT_KEYS = frozenset(
    {
        "name",
        "repository",
        "registry",
        "tags",
        "allow_latest",
        "cpu",
        "memory",
        "protocols",
        "environment_variables",
        "keep_versions",
        "project_endpoint",
        "pin",
        "timeout_s",
        "rollout",
        "smoke_test",
        "on_smoke_failure",
        "preflight",
        "promote_to",
        *_INHERITED_KEYS,
    }
)
_TOP_KEYS = frozenset({"registries", "agents", "webhooks", "event_grid_topic", *_INHERITED_KEYS})


class ConfigError(ValueError):
    """The configuration is invalid; ``problems`` lists each field and what is wrong with it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


def parse_config(
    raw: object, settings: Mapping[str, str], *, resolver: Resolver | None = None
) -> DeployerConfig:
    """Validate the loaded YAML document ``raw``; raise :class:`ConfigError` listing all problems.
    Webhook and topic hosts are resolved with ``resolver`` (default: DNS) to refuse internal
    addresses; ``WEBHOOKS_ALLOW_LOOPBACK=true`` in ``settings`` allows loopback receivers."""
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        raise ConfigError(["the file must be a mapping with 'registries' and 'agents'"])
    raw = _expand(raw, settings, "", problems)
    assert isinstance(raw, Mapping)
    problems += [f"{key}: unknown field" for key in raw if key not in _TOP_KEYS]
    registries = _registries(raw.get("registries"), problems)
    agents = _agents(_inherit(raw, _INHERITED_KEYS), problems)
    check_promotions(agents, problems)
    webhooks, topic = _subscribers(raw, settings, frozenset(a.name for a in agents), resolver, problems)
    if problems:
        raise ConfigError(problems)
    return DeployerConfig(
        registries=registries,
        agents=agents,
        webhooks=webhooks,
        event_grid_topic=topic,
    )


def load_config(path: str, settings: Mapping[str, str]) -> DeployerConfig:
    """Read and validate the YAML file at ``path``."""
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror})"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: is not valid YAML ({exc})"]) from None
    return parse_config(raw, settings)


def _expand(value: object, settings: Mapping[str, str], where: str, problems: list[str]) -> object:
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in settings:
                problems.append(f"{where or 'value'}: ${{{name}}} is not set as an app setting")
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


def _inherit(raw: Mapping[str, Any], keys: tuple[str, ...]) -> object:
    """The ``agents`` list, each agent given the top-level ``keys`` it does not set itself."""
    agents, defaults = raw.get("agents"), {k: raw[k] for k in keys if k in raw}
    if not isinstance(agents, list) or not defaults:
        return agents
    return [{**defaults, **a} if isinstance(a, Mapping) else a for a in agents]


def _subscribers(
    raw: Mapping[str, Any],
    settings: Mapping[str, str],
    agents: frozenset[str],
    resolver: Resolver | None,
    problems: list[str],
) -> tuple[tuple[Webhook, ...], EventGridTopic | None]:
    if resolver is None:
        resolver = system_resolve
    rules = SubscriberRules(
        agents=agents,
        allow_loopback=settings.get("WEBHOOKS_ALLOW_LOOPBACK", "").lower() == "true",
        resolver=resolver,
    )
    return (
        parse_webhooks(raw.get("webhooks"), rules, problems),
        parse_topic(raw.get("event_grid_topic"), rules, problems),
    )


def _registries(raw: object, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append("registries: must be a non-empty list of registry login servers")
        return ()
    for i, registry in enumerate(raw):
        if not isinstance(registry, str) or not is_valid_registry(registry.lower()):
            problems.append(f"registries[{i}]: {registry!r} is not a registry login server")
    return tuple(r.lower() for r in raw if isinstance(r, str))


def _agents(raw: object, problems: list[str]) -> tuple[AgentConfig, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append("agents: must be a non-empty list")
        return ()
    agents = [_agent(item, f"agents[{i}]", problems) for i, item in enumerate(raw)]
    seen: set[str] = set()
    for i, agent in enumerate(agents):
        if agent and agent.name in seen:
            problems.append(f"agents[{i}].name: {agent.name!r} is configured twice")
        if agent:
            seen.add(agent.name)
    return tuple(a for a in agents if a is not None)


def _agent(raw: object, at: str, problems: list[str]) -> AgentConfig | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{at}: must be a mapping")
        return None
    before = len(problems)
    problems += [f"{at}.{key}: unknown field" for key in raw if key not in _AGENT_KEYS]
    name = _agent_name(raw.get("name"), at, problems)
    repository = raw.get("repository")
    if not isinstance(repository, str) or not is_valid_repository(repository):
        problems.append(f"{at}.repository: {repository!r} is not a repository name (e.g. agents/support-bot)")
    tags = _tags(raw, at, problems)
    resources = _resources(raw, at, problems)
    protocols = _protocols(raw.get("protocols", {"responses": "1.0.0"}), at, problems)
    env = _environment(raw.get("environment_variables") or {}, at, problems)
    options = _options(raw, at, problems) | runtime_role_options(raw, at, problems)
    options |= rollout_options(raw, at, problems, protocols=protocols)
    if len(problems) > before:
        return None
    assert isinstance(repository, str) and tags is not None
    return AgentConfig(
        name=name,
        repository=repository,
        tags=tags,
        protocols=protocols,
        environment_variables=env,
        **resources,
        **options,
    )


def _agent_name(raw: object, at: str, problems: list[str]) -> str:
    if not isinstance(raw, str) or not AGENT_NAME.fullmatch(raw):
        problems.append(
            f"{at}.name: {raw!r} is not a valid agent name: letters, digits and hyphens, "
            "starting and ending with a letter or digit, at most 63 characters"
        )
        return ""
    return raw


def _tags(raw: Mapping[str, Any], at: str, problems: list[str]) -> TagPolicy | None:
    text = raw.get("tags", "*")
    allow_latest = raw.get("allow_latest", False)
    if not isinstance(allow_latest, bool):
        problems.append(f"{at}.allow_latest: must be true or false")
        allow_latest = False
    if not isinstance(text, str):
        problems.append(f"{at}.tags: must be a string: a glob, 'semver:<range>' or 'regex:<pattern>'")
        return None
    try:
        return TagPolicy.parse(text, allow_latest=allow_latest)
    except TagPolicyError as exc:
        problems.append(f"{at}.tags: {exc}")
        return None


def _resources(raw: Mapping[str, Any], at: str, problems: list[str]) -> dict[str, Any]:
    cpu, memory = str(raw.get("cpu", "1")), str(raw.get("memory", "2Gi"))
    if not _CPU.fullmatch(cpu):
        problems.append(f'{at}.cpu: {cpu!r} is not a CPU amount (e.g. "1", "0.5" or "500m")')
    if not _MEMORY.fullmatch(memory):
        problems.append(f'{at}.memory: {memory!r} is not a memory amount (e.g. "2Gi" or "512Mi")')
    return {"cpu": cpu, "memory": memory}


def _protocols(raw: object, at: str, problems: list[str]) -> dict[str, str]:
    if not isinstance(raw, Mapping) or not raw:
        problems.append(f'{at}.protocols: must map protocol to version, e.g. {{responses: "1.0.0"}}')
        return {}
    for key, version in raw.items():
        if key not in PROTOCOLS:
            problems.append(f"{at}.protocols.{key}: unknown protocol (known: {', '.join(sorted(PROTOCOLS))})")
        if not isinstance(version, str) or not version:
            problems.append(f'{at}.protocols.{key}: the version must be a string such as "1.0.0"')
    return {str(k): str(v) for k, v in raw.items()}


def _environment(raw: object, at: str, problems: list[str]) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        problems.append(f"{at}.environment_variables: must be a mapping of NAME: value")
        return {}
    for key, value in raw.items():
        where = f"{at}.environment_variables.{key}"
        if not isinstance(key, str) or not _ENV_NAME.fullmatch(key):
            problems.append(f"{where}: not a valid environment variable name")
        elif key.upper().startswith("FOUNDRY_"):
            problems.append(f"{where}: the FOUNDRY_ prefix is reserved for variables the platform injects")
        if not isinstance(value, str | int | float | bool):
            problems.append(f"{where}: the value must be a string")
    return {str(k): str(v) for k, v in raw.items()}


def _options(raw: Mapping[str, Any], at: str, problems: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    keep = raw.get("keep_versions", 5)
    if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
        problems.append(f"{at}.keep_versions: must be a whole number of at least 1")
    options["keep_versions"] = keep
    pin = raw.get("pin", "tag")
    if pin not in ("tag", "digest"):
        problems.append(f"{at}.pin: must be 'tag' or 'digest'")
    options["pin"] = pin
    check = raw.get("registry_check", True)
    if not isinstance(check, bool):
        problems.append(f"{at}.registry_check: must be true or false")
    options["registry_check"] = check is not False
    timeout = raw.get("timeout_s", 900)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        problems.append(f"{at}.timeout_s: must be a positive number of seconds")
    options["timeout_s"] = float(timeout) if isinstance(timeout, int | float) else 900.0
    for key in ("registry", "project_endpoint"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(f"{at}.{key}: must be a string")
        options[key] = value.lower() if key == "registry" and isinstance(value, str) else value
    endpoint = options["project_endpoint"]
    if isinstance(endpoint, str) and not endpoint.startswith("https://"):
        problems.append(f"{at}.project_endpoint: must be an https:// URL")
    return options
