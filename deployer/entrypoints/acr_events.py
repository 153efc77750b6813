"""ACR events (Event Grid schema or CloudEvents 1.0) turned into one
:class:`~deployer.domain.model.ReceivedEvent`: an :class:`ImagePush` or a reason not to deploy.
Envelopes are read with azure-eventgrid's models; ``data`` is checked here."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from deployer.domain.imageref import is_valid_digest, is_valid_registry, is_valid_repository, is_valid_tag
from deployer.domain.pushes import ImagePush, ReceivedEvent

IMAGE_PUSHED = "Microsoft.ContainerRegistry.ImagePushed"


def parse_event(envelope: Mapping[str, Any]) -> ReceivedEvent:
    """Read one event envelope (either schema) into a :class:`ReceivedEvent`; never raises."""
    try:
        event_id, event_type, topic, data = _envelope(envelope)
    except (KeyError, TypeError, ValueError) as exc:
        given_id = envelope.get("id")
        return ReceivedEvent(
            kind="invalid",
            event_id=given_id[:200] if isinstance(given_id, str) else "",
            event_type=str(envelope.get("type") or envelope.get("eventType") or "")[:200],
            topic="",
            reason=f"malformed event envelope: {exc}"[:500],
            content_sha256=_content_sha256(envelope),
        )
    if event_type != IMAGE_PUSHED:
        return ReceivedEvent(
            kind="ignored",
            event_id=event_id,
            event_type=event_type,
            topic=topic,
            reason=f"event type {event_type} does not deploy",
        )
    problem, push = _push(data, event_id, topic)
    if push is None:
        return ReceivedEvent(
            kind="invalid", event_id=event_id, event_type=event_type, topic=topic, reason=problem
        )
    return ReceivedEvent(kind="push", event_id=event_id, event_type=event_type, topic=topic, push=push)


def _content_sha256(envelope: Mapping[str, Any]) -> str:
    canonical = json.dumps(envelope, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _envelope(envelope: Mapping[str, Any]) -> tuple[str, str, str, Any]:
    if "specversion" in envelope:
        from azure.core.messaging import CloudEvent

        cloud: CloudEvent[Any] = CloudEvent.from_dict(dict(envelope))
        return _text(cloud.id, "id"), _text(cloud.type, "type"), _text(cloud.source, "source"), cloud.data
    from azure.eventgrid import EventGridEvent

    # The model turns a number or an object into a string id; refuse them as CloudEvents does.
    _text(envelope.get("id"), "id")
    _text(envelope.get("eventType"), "eventType")
    grid = EventGridEvent.from_dict(dict(envelope))
    return _text(grid.id, "id"), _text(grid.event_type, "eventType"), str(grid.topic or ""), grid.data


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 1024:
        raise ValueError(f"'{name}' must be a non-empty string")
    return value


def _push(data: Any, event_id: str, topic: str) -> tuple[str, ImagePush | None]:
    if not isinstance(data, Mapping) or not isinstance(data.get("target"), Mapping):
        return "the event has no data.target", None
    target: Mapping[str, Any] = data["target"]
    raw_request = data.get("request")
    request: Mapping[str, Any] = raw_request if isinstance(raw_request, Mapping) else {}
    registry = str(request.get("host") or _registry_from_topic(topic)).lower()
    repository, tag, digest = target.get("repository"), target.get("tag"), target.get("digest")
    if not is_valid_registry(registry):
        return f"data.request.host {registry[:100]!r} is not a registry login server", None
    if not isinstance(repository, str) or not is_valid_repository(repository):
        return f"data.target.repository {str(repository)[:100]!r} is not a repository name", None
    if tag is not None and (not isinstance(tag, str) or not is_valid_tag(tag)):
        return f"data.target.tag {str(tag)[:100]!r} is not a valid tag", None
    if not isinstance(digest, str) or not is_valid_digest(digest):
        return f"data.target.digest {str(digest)[:100]!r} is not a sha256 digest", None
    return "", ImagePush(
        registry=registry,
        repository=repository,
        tag=tag or None,
        digest=digest,
        event_id=event_id,
    )


def _registry_from_topic(topic: str) -> str:
    """``.../providers/Microsoft.ContainerRegistry/registries/<name>`` → ``<name>.azurecr.io``."""
    marker = "/providers/microsoft.containerregistry/registries/"
    lowered = topic.lower()
    if marker not in lowered:
        return ""
    return lowered.split(marker, 1)[1].split("/", 1)[0] + ".azurecr.io"
