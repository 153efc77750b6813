"""The Event Grid trigger ``on_image_pushed``: one delivered event → one :class:`ReceivedEvent` →
``handle_event``.

The Functions host answers Event Grid with 500 (redelivery) only when this raises, so it raises
only for what a retry can fix: Foundry throttling or outages, storage errors, a bad config.
Malformed or foreign events are recorded and acknowledged.
"""

from __future__ import annotations

import logging
from typing import Any

import azure.functions as func

from deployer.bootstrap import root
from deployer.deploy.start import handle_event
from deployer.entrypoints.acr_events import parse_event

log = logging.getLogger(__name__)

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves it untyped


def envelope_of(event: func.EventGridEvent | func.CloudEvent) -> dict[str, Any]:
    """The event as its JSON envelope, in the schema it was delivered in."""
    if isinstance(event, func.CloudEvent):
        cloud = {
            "specversion": event.specversion,
            "id": event.id,
            "source": event.source,
            "type": event.type,
            "subject": event.subject,
            "time": event.time.isoformat() if event.time else None,
            "data": event.get_json(),
        }
        return {k: v for k, v in cloud.items() if v is not None}
    return {
        "id": event.id,
        "topic": event.topic,
        "subject": event.subject,
        "eventType": event.event_type,
        "eventTime": event.event_time.isoformat() if event.event_time else None,
        "dataVersion": event.data_version,
        "data": event.get_json(),
    }


# Annotated with one class: the worker accepts EventGridEvent or CloudEvent, not a union of them.
# A CloudEvents subscription's events still arrive as ``func.CloudEvent``; envelope_of reads both.
@blueprint.event_grid_trigger(arg_name="event")
def on_image_pushed(event: func.EventGridEvent) -> None:
    """Handle one ACR event delivery."""
    received = parse_event(envelope_of(event))
    for deployment in handle_event(root().context, received):
        log.info("event %s -> deployment %s %s", received.event_id, deployment.id, deployment.status)
