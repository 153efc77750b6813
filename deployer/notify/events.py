"""Which transitions are notified, to whom, under which ids. Pure.

Event types are ``deployment.`` + the status entered. ``pending`` (internal), ``ignored`` and
``refused`` (events that were never deployments) are not notified: the outbox drops them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, cast

from deployer.domain.model import Deployment, Status, Transition
from deployer.domain.notifications import NotificationEntry
from deployer.domain.subscribers import MARKS, NOTIFIED_TYPES

if TYPE_CHECKING:
    from deployer.domain.subscribers import Subscriber


def split_event(pending: str) -> tuple[str, str | None]:
    """A pending event and its qualifier: ``deployment.traffic_shifted:50`` is the type
    ``deployment.traffic_shifted`` at 50% (a canary notifies each step once)."""
    event_type, _, qualifier = pending.partition(":")
    return event_type, qualifier or None


def event_id(deployment_id: str, event_type: str) -> str:
    """The CloudEvent id and ``webhook-id``: the same for every subscriber and every attempt,
    so a receiver can drop what it has seen (a qualified event: ``<id>.traffic_shifted.50``)."""
    return f"{deployment_id}.{event_type.removeprefix('deployment.').replace(':', '.')}"


def entry_id(deployment_id: str, event_type: str, subscriber_key: str) -> str:
    """The outbox entry's id (its RowKey): writing it twice is harmless."""
    return f"{event_id(deployment_id, event_type)}.{subscriber_key}"


def notified(events: Iterable[str]) -> list[str]:
    """The event types among ``events`` that are notified, in order, once each (qualified ones
    such as ``deployment.traffic_shifted:50`` kept whole)."""
    return [e for e in dict.fromkeys(events) if split_event(e)[0] in NOTIFIED_TYPES]


def as_of(deployment: Deployment, event_type: str) -> Deployment:
    """The deployment as it was when it entered the event's status (history cut there), so a
    ``deployment.creating`` flushed late does not claim the deployment is already active."""
    kind, qualifier = split_event(event_type)
    status = kind.removeprefix("deployment.")
    index = max((i for i, t in enumerate(deployment.history) if _entered(t, status, qualifier)), default=None)
    if index is None:
        return deployment
    entered = deployment.history[index]
    shifted = status in MARKS
    return replace(
        deployment,
        status=deployment.status if shifted else cast(Status, status),
        updated_at=entered.at,
        history=deployment.history[: index + 1],
    )


def _entered(entry: Transition, status: str, qualifier: str | None) -> bool:
    if entry.status != status:
        return False
    return qualifier is None or str(entry.percentage) == qualifier


def plan(deployment: Deployment, subscribers: Sequence[Subscriber], *, now: float) -> list[NotificationEntry]:
    """The outbox entries for the deployment's pending events: one per notified event and per
    subscriber whose filters want it."""
    entries: list[NotificationEntry] = []
    for pending in notified(deployment.pending_events):
        event_type, qualifier = split_event(pending)
        wanting = [s for s in subscribers if s.filters.wants(event_type, deployment.agent)]
        if not wanting:
            continue
        then = as_of(deployment, pending)
        data = _data(then, percentage=int(qualifier) if qualifier and qualifier.isdigit() else None)
        for subscriber in wanting:
            entries.append(
                NotificationEntry(
                    id=entry_id(deployment.id, pending, subscriber.key),
                    deployment_id=deployment.id,
                    agent=deployment.agent,
                    event_type=event_type,
                    event_id=event_id(deployment.id, pending),
                    subscriber=subscriber.key,
                    channel=subscriber.channel,
                    time=then.updated_at,
                    data=data,
                    created_at=now,
                    started_at=now,
                    next_attempt_at=now,
                )
            )
    return entries


#: Table Storage keeps strings up to 64 KiB of UTF-16: 32 K characters, with room to spare.
MAX_DATA_CHARS = 30_000


def _data(deployment: Deployment, *, percentage: int | None = None) -> str:
    """The event's data; a deployment too large for one property loses its history and the
    tail of its error message (every other field is short). ``traffic_shifted``: with the
    ``percentage`` the new version took."""
    document = deployment.to_json()
    if percentage is not None:
        document["percentage"] = percentage
    data = json.dumps(document, separators=(",", ":"))
    if len(data) > MAX_DATA_CHARS:
        error = document["error"] and {**document["error"], "message": document["error"]["message"][:2000]}
        data = json.dumps({**document, "history": [], "error": error}, separators=(",", ":"))
    return data
