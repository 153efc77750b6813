"""Emulator settings changed through ``PUT /_emulator/settings`` (see ``admin``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from localdev.foundry_emulator.errors import bad_request

DEFAULT_PROVISION_DELAY_S = 0.5
DEFAULT_DELETE_DELAY_S = 0.2
DEFAULT_SELECTORS = ("latest", "none")
_SWITCHES = ("require_preview_header", "enforce_protocols")


@dataclass
class Fault:
    """Answers the next ``count`` requests matching ``method`` and ``path`` with ``status``.

    ``path`` is a regular expression searched in the request path (query excluded); ``method``
    ``None`` matches any method. ``delay_s`` is slept before answering; with ``status`` ``None``
    the request is then served normally (a slow but successful call).
    """

    path: str
    method: str | None = None
    status: int | None = None
    count: int = 1
    retry_after_s: float | None = None
    delay_s: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        """Return True when this fault still has uses left and applies to the request."""
        if self.count <= 0:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return re.search(self.path, path) is not None

    def to_json(self) -> dict[str, Any]:
        """Return the fault as JSON (``count`` is the number of uses left)."""
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "count": self.count,
            "retry_after_s": self.retry_after_s,
            "delay_s": self.delay_s,
        }


@dataclass(frozen=True)
class ImageReply:
    """How the endpoint of every version running ``image`` answers (a sick or slow agent).

    ``delay_s`` is slept before answering; ``status`` (an HTTP error, 400-599) answers an
    Azure-shaped error instead of the reply; ``text`` replaces the reply's text.
    """

    status: int | None = None
    text: str | None = None
    delay_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Return the reply settings as JSON."""
        return {"status": self.status, "text": self.text, "delay_s": self.delay_s}


@dataclass
class Settings:
    """Provisioning timings, simulated image failures and injected faults."""

    provision_delay_s: float | None = DEFAULT_PROVISION_DELAY_S
    delete_delay_s: float | None = DEFAULT_DELETE_DELAY_S
    #: The registry stand-in's origin: each new version's image is pulled from it (registry ``R``
    #: at ``{registry_endpoint}/R``), and one it does not hold fails ``AcrImageNotFound``.
    #: ``None``: no registry is asked, every image can be pulled.
    registry_endpoint: str | None = None
    failing_images: dict[str, str] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    image_replies: dict[str, ImageReply] = field(default_factory=dict)
    #: The project's model deployments and connections by name; ``None``: any name exists.
    model_deployments: list[str] | None = None
    connections: list[str] | None = None
    #: ``latest``: a new agent's selector is ``@latest`` at 100 %; ``none``: it has no selector.
    default_selector: str = "latest"
    #: A version keeps a live session this long after its last endpoint call; ``None``: never.
    session_linger_s: float | None = None
    #: Invocations calls need ``Foundry-Features: HostedAgents=V1Preview`` (403 otherwise).
    require_preview_header: bool = True
    #: The endpoint serves only the protocols of ``agent_endpoint.protocol_configuration``.
    enforce_protocols: bool = True
    #: The projects that exist (``fnmatch`` patterns); ``None``: every project exists.
    projects: list[str] | None = None
    #: A new version reports its ``instance_identity`` this long after it was created.
    identity_delay_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Return the settings as JSON."""
        return {
            "provision_delay_s": self.provision_delay_s,
            "delete_delay_s": self.delete_delay_s,
            "registry_endpoint": self.registry_endpoint,
            "failing_images": dict(self.failing_images),
            "faults": [fault.to_json() for fault in self.faults],
            "image_replies": {image: reply.to_json() for image, reply in self.image_replies.items()},
            "model_deployments": self.model_deployments,
            "connections": self.connections,
            "default_selector": self.default_selector,
            "session_linger_s": self.session_linger_s,
            "require_preview_header": self.require_preview_header,
            "enforce_protocols": self.enforce_protocols,
            "projects": self.projects,
            "identity_delay_s": self.identity_delay_s,
        }


def apply_settings_update(current: Settings, payload: Any) -> Settings:
    """Return ``current`` with the keys present in ``payload`` replaced (400 on bad input)."""
    if not isinstance(payload, dict):
        raise bad_request("Settings must be a JSON object.")
    unknown = set(payload) - set(Settings().to_json())
    if unknown:
        raise bad_request(f"Unknown settings: {', '.join(sorted(unknown))}.")
    changes: dict[str, Any] = {}
    for key in ("provision_delay_s", "delete_delay_s"):
        if key in payload:
            changes[key] = _optional_seconds(payload[key], key)
    if "registry_endpoint" in payload:
        changes["registry_endpoint"] = _registry_endpoint(payload["registry_endpoint"])
    if "failing_images" in payload:
        changes["failing_images"] = _string_map(payload["failing_images"])
    if "faults" in payload:
        changes["faults"] = _faults(payload["faults"])
    if "image_replies" in payload:
        changes["image_replies"] = _image_replies(payload["image_replies"])
    for key in ("model_deployments", "connections", "projects"):
        if key in payload:
            changes[key] = None if payload[key] is None else _string_list(payload[key], key)
    changes.update(_platform_changes(payload))
    return replace(current, **changes)


def _platform_changes(payload: dict[str, Any]) -> dict[str, Any]:
    """The settings that choose between the platform's behaviour and an older one."""
    changes: dict[str, Any] = {}
    if "default_selector" in payload:
        if payload["default_selector"] not in DEFAULT_SELECTORS:
            raise bad_request("'default_selector' must be 'latest' or 'none'.", param="default_selector")
        changes["default_selector"] = payload["default_selector"]
    if "session_linger_s" in payload:
        changes["session_linger_s"] = _optional_seconds(payload["session_linger_s"], "session_linger_s")
    if "identity_delay_s" in payload:
        changes["identity_delay_s"] = (
            _optional_seconds(payload["identity_delay_s"], "identity_delay_s") or 0.0
        )
    for key in _SWITCHES:
        if key in payload:
            if not isinstance(payload[key], bool):
                raise bad_request(f"'{key}' must be true or false.", param=key)
            changes[key] = payload[key]
    return changes


def _optional_seconds(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise bad_request(f"'{name}' must be a non-negative number or null.", param=name)
    return float(value)


def _registry_endpoint(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value.startswith("https://")):
        return value.rstrip("/") if value else None
    raise bad_request("'registry_endpoint' must be an https:// origin or null.", param="registry_endpoint")


def _string_list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise bad_request(f"'{name}' must be a list of strings.", param=name)
    return list(value)


def _string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
        raise bad_request("'failing_images' must map image to error code.", param="failing_images")
    return dict(value)


def _faults(value: Any) -> list[Fault]:
    if not isinstance(value, list):
        raise bad_request("'faults' must be a list.", param="faults")
    return [_fault(item) for item in value]


def _fault(item: Any) -> Fault:
    """Parse one fault object."""
    if not isinstance(item, dict) or not isinstance(item.get("path"), str):
        raise bad_request("Each fault needs a 'path' regular expression.", param="faults")
    try:
        re.compile(item["path"])
        fault = Fault(
            path=item["path"],
            method=_optional_str(item.get("method")),
            status=None if item.get("status") is None else int(item["status"]),
            count=int(item.get("count", 1)),
            retry_after_s=_optional_seconds(item.get("retry_after_s"), "retry_after_s"),
            delay_s=_optional_seconds(item.get("delay_s"), "delay_s") or 0.0,
        )
    except (re.error, TypeError, ValueError) as exc:
        raise bad_request(f"Invalid fault: {exc}.", param="faults") from exc
    if fault.status is not None and not 400 <= fault.status <= 599:
        raise bad_request("A fault's 'status' must be an HTTP error status (400-599).", param="faults")
    return fault


def _image_replies(value: Any) -> dict[str, ImageReply]:
    if not isinstance(value, dict):
        raise bad_request("'image_replies' must map image to a reply.", param="image_replies")
    return {str(image): _image_reply(item) for image, item in value.items()}


def _image_reply(item: Any) -> ImageReply:
    if not isinstance(item, dict) or set(item) - {"status", "text", "delay_s"}:
        raise bad_request("An image reply has only 'status', 'text' and 'delay_s'.", param="image_replies")
    status = item.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
    ):
        raise bad_request("An image reply's 'status' must be an HTTP error status.", param="image_replies")
    text = item.get("text")
    if text is not None and not isinstance(text, str):
        raise bad_request("An image reply's 'text' must be a string.", param="image_replies")
    delay = _optional_seconds(item.get("delay_s"), "delay_s") or 0.0
    return ImageReply(status=status, text=text, delay_s=delay)


def _optional_str(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise bad_request("A fault's 'method' must be a string.", param="faults")
