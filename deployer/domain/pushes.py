"""What a delivered registry event means to the deployer: the image pushed, or why the event is
not one it acts on. Pure: no I/O, no Azure imports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, kw_only=True)
class ImagePush:
    """One image pushed to a registry, as the deployer needs it (from any trigger)."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None
    event_id: str | None = None

    @property
    def image(self) -> str:
        """The reference to deploy: by tag when there is one, else by digest."""
        if self.tag:
            return f"{self.registry}/{self.repository}:{self.tag}"
        return f"{self.registry}/{self.repository}@{self.digest}"

    @property
    def image_by_digest(self) -> str:
        return f"{self.registry}/{self.repository}@{self.digest}"


@dataclass(frozen=True, kw_only=True)
class ReceivedEvent:
    """What one delivered event means to the deployer."""

    kind: Literal["push", "ignored", "invalid"]
    #: The event's id; empty when it has none (a malformed event).
    event_id: str
    event_type: str
    topic: str
    push: ImagePush | None = None
    reason: str | None = None
    #: sha256 of the envelope (canonical JSON): what an event without an id is recorded once by,
    #: so a redelivery of it finds its record and another id-less event gets its own.
    content_sha256: str = ""
