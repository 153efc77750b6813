"""Images put in the registry stand-in before a test pushes or deploys them, as ``docker push``
puts them in ACR before its event is sent. Through the stand-in's admin API
(``PUT /_emulator/images``, see ``localdev.acr_emulator.admin``)."""

from __future__ import annotations

import json
import re
import ssl
import urllib.request
from collections.abc import Iterable
from typing import Any

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


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
    [seeded] = _admin(registry_endpoint, ca_bundle, [entry])
    return seeded


def seed_pushed(registry_endpoint: str, ca_bundle: str, events: Iterable[Any]) -> None:
    """Put in place the image of every well-formed ImagePushed event (Event Grid or CloudEvents
    schema) in ``events``, with the event's digest. Malformed events are left as they are."""
    entries = [entry for event in events if (entry := _pushed_image(event)) is not None]
    if entries:
        _admin(registry_endpoint, ca_bundle, entries)


def _pushed_image(event: Any) -> dict[str, str] | None:
    data = event.get("data") if isinstance(event, dict) else None
    if not isinstance(data, dict) or data.get("action") != "push":
        return None
    target, request = data.get("target") or {}, data.get("request") or {}
    host, repository = request.get("host"), target.get("repository")
    tag, digest = target.get("tag"), target.get("digest")
    if not all(isinstance(v, str) and v for v in (host, repository, tag)):
        return None
    if not (isinstance(digest, str) and _DIGEST.match(digest)):
        return None
    return {"image": f"{host}/{repository}:{tag}", "digest": digest}


def _admin(registry_endpoint: str, ca_bundle: str, images: list[dict[str, Any]]) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        f"{registry_endpoint}/_emulator/images",
        data=json.dumps({"images": images}).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    context = ssl.create_default_context(cafile=ca_bundle)
    with urllib.request.urlopen(request, timeout=30, context=context) as answer:
        seeded: list[dict[str, Any]] = json.load(answer)["images"]
    return seeded
