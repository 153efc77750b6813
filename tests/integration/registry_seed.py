"""Images put in the registry stand-in before a test pushes or deploys them, as ``docker push``
puts them in ACR before its event is sent (``localdev.acr_emulator.admin_client``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

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
