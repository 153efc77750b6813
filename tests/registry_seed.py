"""Images put in the registry stand-in before a test pushes or deploys them, as ``docker push``
puts them in ACR before its event is sent (``localdev.acr_emulator.admin_client``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from deployer.cli.simulate import image_pushed_event
from localdev.acr_emulator.admin_client import RegistryAdmin


def seed(
    registry_endpoint: str,
    ca_bundle: str,
    image: str,
    *,
    digest: str | None = None,
    platforms: list[str] | None = None,
) -> dict[str, Any]:
    """Put ``registry/repository:tag`` in place (with ``digest``, else a made-up one; one image
    for linux/amd64, or an index of ``platforms``); the stand-in's description of it."""
    entry: dict[str, Any] = {"image": image}
    if digest is not None:
        entry["digest"] = digest
    if platforms is not None:
        entry["platforms"] = platforms
    [seeded] = RegistryAdmin(registry_endpoint, ca_bundle).seed([entry])
    return seeded


def seed_pushed(registry_endpoint: str, ca_bundle: str, events: Iterable[Any]) -> None:
    """Put in place the image of every well-formed ImagePushed event in ``events``."""
    RegistryAdmin(registry_endpoint, ca_bundle).seed_pushed(events)


class StandIn:
    """The session stack's registry stand-in, for helpers that build pushes in-process (their
    contexts call the stack's Foundry emulator, which pulls every image from the stand-in)."""

    admin: RegistryAdmin | None = None

    @classmethod
    def use(cls, registry_endpoint: str, ca_bundle: str) -> None:
        cls.admin = RegistryAdmin(registry_endpoint, ca_bundle)


def pushed_event(image: str, *, digest: str | None = None) -> dict[str, Any]:
    """An ImagePushed event for ``image`` (Event Grid schema), its image put in the session
    stack's registry stand-in first, as ``docker push`` does before ACR sends the event."""
    assert StandIn.admin is not None, "the session stack is not started (use the 'stack' fixture)"
    event = image_pushed_event(image, digest=digest)
    StandIn.admin.seed_pushed([event])
    return event
