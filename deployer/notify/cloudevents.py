"""The ``cloudevents`` format: a structured-mode CloudEvents 1.0 JSON event. Pure."""

from __future__ import annotations

import json
from typing import Any

from deployer.domain.notifications import NotificationEntry

#: The CloudEvents ``source`` of every event the deployer emits.
SOURCE = "/agent-deployer/deployments"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


def cloud_event(entry: NotificationEntry) -> dict[str, Any]:
    """The event: ``id`` per (deployment, status), ``subject`` the agent, ``data`` the deployment."""
    return {
        "specversion": "1.0",
        "id": entry.event_id,
        "source": SOURCE,
        "type": entry.event_type,
        "subject": entry.agent,
        "time": entry.time,
        "datacontenttype": "application/json",
        "data": json.loads(entry.data),
    }


def body(entry: NotificationEntry) -> bytes:
    """The request body in structured mode."""
    return json.dumps(cloud_event(entry), separators=(",", ":")).encode()
