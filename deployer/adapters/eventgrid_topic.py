"""Publishing to an Event Grid custom topic with azure-eventgrid's ``EventGridPublisherClient``,
as CloudEvents, with the credential of the app (managed identity in Azure).

The outbox owns retries, so each ``send`` runs with the SDK's retries off, no redirects and
bounded timeouts. The endpoint comes from the operator's config and is checked at config time;
it is resolved and checked again here before each send, though the SDK opens its own connection
(an Event Grid endpoint is not a user-supplied URL, so this narrower check is enough).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from deployer.domain.addresses import Resolver, UrlRefused, resolve_checked
from deployer.domain.clock import parse_iso
from deployer.domain.notifications import Attempt, parse_retry_after

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.eventgrid import EventGridPublisherClient


class EventGridTopicPublisher:
    """:class:`deployer.ports.TopicPublisher` over ``EventGridPublisherClient`` (one per endpoint)."""

    def __init__(
        self,
        credential: TokenCredential,
        *,
        allow_loopback: bool,
        resolver: Resolver,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 15.0,
    ) -> None:
        self._credential = credential
        self._allow_loopback = allow_loopback
        self._resolver = resolver
        self._connect_s, self._read_s = connect_timeout_s, read_timeout_s
        self._clients: dict[str, EventGridPublisherClient] = {}
        self._lock = threading.Lock()

    def publish(self, endpoint: str, event: Mapping[str, Any]) -> Attempt:
        """Send one CloudEvent; every failure is an :class:`Attempt`, never an exception."""
        try:
            self._check(endpoint)
        except UrlRefused:
            return Attempt(error="address_refused")
        except OSError:
            return Attempt(error="dns_error")
        return self._send(endpoint, event)

    def _send(self, endpoint: str, event: Mapping[str, Any]) -> Attempt:
        from azure.core.exceptions import AzureError, HttpResponseError, ServiceResponseTimeoutError

        try:
            self._client(endpoint).send(
                [_cloud_event(event)],
                retry_total=0,
                permit_redirects=False,
                connection_timeout=self._connect_s,
                read_timeout=self._read_s,
            )
        except HttpResponseError as exc:
            if exc.status_code is None:
                return Attempt(error="connection_error")
            response: Any = exc.response
            header = response.headers.get("Retry-After") if response is not None else None
            return Attempt(status=exc.status_code, retry_after_s=parse_retry_after(header, now=_now()))
        except ServiceResponseTimeoutError:
            return Attempt(error="timeout")
        except AzureError:
            return Attempt(error="connection_error")
        return Attempt(status=200)

    def _check(self, endpoint: str) -> None:
        resolve_checked(endpoint, self._resolver, allow_loopback=self._allow_loopback)

    def _client(self, endpoint: str) -> EventGridPublisherClient:
        from azure.eventgrid import EventGridPublisherClient

        with self._lock:
            if endpoint not in self._clients:
                self._clients[endpoint] = EventGridPublisherClient(endpoint, self._credential)
            return self._clients[endpoint]


def _cloud_event(event: Mapping[str, Any]) -> Any:
    from azure.core.messaging import CloudEvent

    return CloudEvent(
        source=event["source"],
        type=event["type"],
        id=event["id"],
        subject=event.get("subject"),
        time=datetime.fromtimestamp(parse_iso(event["time"]), UTC),
        datacontenttype=event.get("datacontenttype"),
        data=event["data"],
    )


def _now() -> float:
    return datetime.now(UTC).timestamp()
