"""Agents and agent versions as the emulator stores them, and their JSON (SDK model) shapes.

Statuses are computed lazily from a monotonic clock, so no background threads are needed.
"""

from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from localdev.foundry_emulator.errors import bad_request
from localdev.foundry_emulator.settings import Settings

AGENT_NAME_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
"""Letters, digits and hyphens; starts and ends alphanumeric; at most 63 characters."""

_IDENTITY_NAMESPACE = uuid.UUID("6f1c56a4-1a4b-4d0c-9a53-6a1f0c1e2b7d")
_MAX_METADATA_PAIRS = 16

FAILURE_MESSAGES: dict[str, str] = {
    "AcrImageNotFound": "Image '{image}' was not found in the registry. Correct the image name/tag "
    "or publish the image.",
    "image_pull_failed": "Failed to pull image '{image}'. Verify the image URI is correct and the "
    "project managed identity has Container Registry Repository Reader on the ACR.",
    "SubscriptionIsNotRegistered": "The subscription is not registered for the resource provider "
    "needed to run '{image}'. Register the subscription provider.",
    "InvalidAcrPullCredentials": "The credentials used to pull '{image}' are invalid. Fix the "
    "managed identity or registry RBAC.",
    "UnauthorizedAcrPull": "Not authorized to pull '{image}'. Provide correct credentials or identity.",
    "RegistryNotFound": "The registry for '{image}' could not be reached. Fix registry DNS or "
    "network reachability.",
}


@dataclass(frozen=True)
class Outcome:
    """A version status (``creating``, ``active``, ``failed``, ...) with its error, if any."""

    status: str
    error: dict[str, str] | None = None


def validate_agent_name(name: str) -> None:
    """Raise 400 unless ``name`` follows the agent-name rule."""
    if not AGENT_NAME_PATTERN.fullmatch(name):
        raise bad_request(
            f"Invalid agent name '{name}': use letters, digits and hyphens, start and end with a "
            "letter or digit, at most 63 characters.",
            param="agent_name",
        )


def definition_image(definition: Any) -> str:
    """Return the image of a hosted definition in either shape (400 when absent or invalid).

    Accepts the SDK 2.x shape (``container_configuration.image``) and the documented REST shape
    (``image``).
    """
    if not isinstance(definition, dict):
        raise bad_request("'definition' is required and must be an object.", param="definition")
    if definition.get("kind") != "hosted":
        raise bad_request("The emulator only serves hosted agents: 'definition.kind' must be 'hosted'.")
    for key in ("cpu", "memory"):
        if not isinstance(definition.get(key), str) or not definition[key]:
            raise bad_request(f"'definition.{key}' is required.", param=f"definition.{key}")
    container = definition.get("container_configuration")
    image = container.get("image") if isinstance(container, dict) else None
    image = image or definition.get("image")
    if not isinstance(image, str) or not image:
        raise bad_request(
            "A hosted definition needs 'container_configuration.image' (or 'image').",
            param="definition.container_configuration.image",
        )
    return image


def definition_protocols(definition: dict[str, Any]) -> set[str]:
    """Return the protocols a definition declares (either shape); empty when none declared."""
    records = definition.get("protocol_versions") or definition.get("container_protocol_versions") or []
    return {str(record.get("protocol")) for record in records if isinstance(record, dict)}


def validate_metadata(metadata: Any) -> dict[str, str]:
    """Return ``metadata`` (``{}`` when absent); 400 unless it is up to 16 string pairs."""
    if metadata is None:
        return {}
    if (
        not isinstance(metadata, dict)
        or len(metadata) > _MAX_METADATA_PAIRS
        or not all(isinstance(value, str) and len(value) <= 512 for value in metadata.values())
        or not all(len(key) <= 64 for key in metadata)
    ):
        raise bad_request("'metadata' must be at most 16 string pairs.", param="metadata")
    return dict(metadata)


def version_request(name: str, body: Any) -> dict[str, Any]:
    """Validate a create-version body and keep the fields the emulator echoes."""
    validate_agent_name(name)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    image = definition_image(body.get("definition"))
    request: dict[str, Any] = {
        "definition": body["definition"],
        "metadata": validate_metadata(body.get("metadata")),
        "image": image,
    }
    for key in ("description", "draft"):
        if body.get(key) is not None:
            request[key] = body[key]
    return request


def provisioning_outcome(image: str, settings: Settings, pull_failure: str | None = None) -> Outcome:
    """Return how provisioning of ``image`` ends under the current settings, given how pulling it
    from its registry turned out (``pull_failure``: the error code, ``None``: pulled)."""
    if pull_failure is not None:
        return failure(pull_failure, image)
    if image in settings.failing_images:
        return failure(settings.failing_images[image], image)
    return Outcome("active")


def failure(code: str, image: str) -> Outcome:
    """Return a ``failed`` outcome with the troubleshooting-table message for ``code``."""
    template = FAILURE_MESSAGES.get(code, "Provisioning of '{image}' failed with " + code + ".")
    return Outcome("failed", {"code": code, "message": template.format(image=image)})


def version_number(version: str) -> int:
    """Return the number of a version given as ``"3"`` or as its id ``"name:3"`` (-1 if invalid)."""
    text = version.rsplit(":", 1)[-1]
    return int(text) if text.isdigit() else -1


def instance_identity(project: str, agent: str) -> dict[str, str]:
    """Return the agent's deterministic Entra instance identity."""
    return {
        "principal_id": str(uuid.uuid5(_IDENTITY_NAMESPACE, f"{project}/{agent}/principal")),
        "client_id": str(uuid.uuid5(_IDENTITY_NAMESPACE, f"{project}/{agent}/client")),
        "status": "active",
    }


@dataclass
class VersionRecord:
    """One agent version: its request body, provisioning plan and deletion state."""

    project: str
    agent: str
    number: int
    request: dict[str, Any]
    created_at: int
    created_mono: float
    ready_after_s: float | None
    outcome: Outcome
    forced: Outcome | None = None
    delete_started: float | None = None
    delete_after_s: float | None = None
    #: The version reports its ``instance_identity`` this long after its creation.
    identity_after_s: float = 0.0
    #: When its endpoint last answered a call for it (a session), on the monotonic clock.
    last_call: float | None = None

    @property
    def version(self) -> str:
        """The version identifier as the service spells it ("1", "2", ...)."""
        return str(self.number)

    @property
    def id(self) -> str:
        """The version's object id, used as the ``after``/``before`` pagination cursor."""
        return f"{self.agent}:{self.number}"

    def state(self, now: float) -> Outcome:
        """Return the status at monotonic time ``now``."""
        if self.delete_started is not None:
            done = self.delete_after_s is not None and now >= self.delete_started + self.delete_after_s
            return Outcome("deleted" if done else "deleting")
        if self.forced is not None:
            return self.forced
        if self.ready_after_s is None or now < self.created_mono + self.ready_after_s:
            return Outcome("creating")
        return self.outcome

    def is_gone(self, now: float) -> bool:
        """Return True once the version is fully deleted (404 from then on)."""
        return self.state(now).status == "deleted"

    def to_json(self, now: float) -> dict[str, Any]:
        """Return the version as an ``AgentVersionDetails`` JSON object."""
        state = self.state(now)
        body: dict[str, Any] = {
            "object": "agent.version",
            "id": self.id,
            "name": self.agent,
            "version": self.version,
            "created_at": self.created_at,
            "definition": copy.deepcopy(self.request["definition"]),
            "metadata": dict(self.request.get("metadata") or {}),
            "status": state.status,
        }
        if now >= self.created_mono + self.identity_after_s:
            body["instance_identity"] = instance_identity(self.project, self.agent)
        for key in ("description", "draft"):
            if key in self.request:
                body[key] = self.request[key]
        if state.error is not None:
            body["error"] = dict(state.error)
        return body


@dataclass
class AgentRecord:
    """One agent: its versions, endpoint configuration and traffic-routing state."""

    project: str
    name: str
    sequence: int
    created_at: int
    next_version: int = 1
    versions: dict[int, VersionRecord] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    route_weights: dict[str, int] = field(default_factory=dict)

    def live_versions(self, now: float) -> list[VersionRecord]:
        """Return the versions not yet fully deleted, oldest first."""
        return [self.versions[n] for n in sorted(self.versions) if not self.versions[n].is_gone(now)]

    def to_json(self, now: float) -> dict[str, Any]:
        """Return the agent as an ``AgentDetails`` JSON object (needs one live version)."""
        latest = self.live_versions(now)[-1]
        body: dict[str, Any] = {
            "object": "agent",
            "id": self.name,
            "name": self.name,
            "state": "enabled",
            "configuration_state": "enabled",
            "versions": {"latest": latest.to_json(now)},
            "instance_identity": instance_identity(self.project, self.name),
        }
        body.update(copy.deepcopy(self.details))
        return body
