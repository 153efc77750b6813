"""Realistic ACR ``ImagePushed`` events, shaped as Microsoft documents them, for
``agent-deployer simulate-push`` and for tests; the push itself into the local registry
stand-in, which comes before the event as ``docker push`` does; ``push`` does both and finds what
the deployer made of it."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.request
import uuid
from datetime import datetime, timezone
from typing import Any, Literal

from deployer.cli.client import Client
from deployer.cli.resolve import CommandError
from deployer.domain.imageref import ImageRef, ImageRefError

MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
Schema = Literal["eventgrid", "cloudevents"]
_LOOKS, _LOOK_EVERY_S = 10, 0.5


def push(
    api: Client,
    image: str,
    schema: Schema,
    *,
    webhook: Client | None = None,
    registry_endpoint: str | None = None,
) -> tuple[str, dict[str, Any] | None]:
    """Put ``image`` in the registry stand-in at ``registry_endpoint`` (if given), then post its
    ImagePushed event to the deployer's Event Grid endpoint (through ``webhook``, which holds the
    system key, or ``api``): the event's id and the deployer's record of it (what it decided),
    once that shows (``None`` if not soon)."""
    try:
        ImageRef.parse(image)
    except ImageRefError as exc:
        raise CommandError(str(exc)) from None
    digest = None
    if registry_endpoint:
        try:
            digest = push_to_stand_in(registry_endpoint, image)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot push {image} to {registry_endpoint}: {exc}") from None
    event = image_pushed_event(image, schema=schema, digest=digest)
    cloud = schema == "cloudevents"
    headers = {
        "aeg-event-type": "Notification",
        "Content-Type": "application/cloudevents+json" if cloud else "application/json",
    }
    path = "/runtime/webhooks/eventgrid?functionName=on_image_pushed"
    (webhook or api).send("POST", path, event if cloud else [event], headers)
    for look in range(_LOOKS):
        items = api.get("/api/deployments", limit=50)["items"]
        found = next((d for d in items if d["event_id"] == event["id"]), None)
        if found is not None or look == _LOOKS - 1:
            return str(event["id"]), found
        time.sleep(_LOOK_EVERY_S)
    raise AssertionError("unreachable")


def image_pushed_event(
    image: str, *, schema: Schema = "eventgrid", digest: str | None = None
) -> dict[str, Any]:
    """One ImagePushed event for ``image`` (``registry/repository:tag``) in the given schema."""
    ref = ImageRef.parse(image)
    name = ref.registry.split(".", 1)[0]
    topic = (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local"
        f"/providers/Microsoft.ContainerRegistry/registries/{name}"
    )
    now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    data = {
        "id": str(uuid.uuid4()),
        "timestamp": now,
        "action": "push",
        "location": "westus",
        "target": {
            "mediaType": MANIFEST_MEDIA_TYPE,
            "size": 3023,
            "digest": digest or ref.digest or "sha256:" + hashlib.sha256(image.encode()).hexdigest(),
            "length": 3023,
            "repository": ref.repository,
            "tag": ref.tag,
        },
        "request": {
            "id": str(uuid.uuid4()),
            "host": ref.registry,
            "method": "PUT",
            "useragent": "docker/27.0",
        },
    }
    subject = f"{ref.repository}:{ref.tag}" if ref.tag else ref.repository
    if schema == "cloudevents":
        return {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": topic,
            "subject": subject,
            "type": "Microsoft.ContainerRegistry.ImagePushed",
            "time": now,
            "data": data,
        }
    return {
        "id": str(uuid.uuid4()),
        "topic": topic,
        "subject": subject,
        "eventType": "Microsoft.ContainerRegistry.ImagePushed",
        "eventTime": now,
        "data": data,
        "dataVersion": "1.0",
        "metadataVersion": "1",
    }


def push_to_stand_in(registry_endpoint: str, image: str, *, timeout_s: float = 30.0) -> str:
    """Put ``image`` (``registry/repository:tag``) in the local registry stand-in at
    ``registry_endpoint`` through its admin API (``PUT /_emulator/images``); the digest it got.
    TLS trust from the system (``SSL_CERT_FILE`` for the local CA)."""
    body = json.dumps({"images": [{"image": image}]}).encode()
    request = urllib.request.Request(  # noqa: S310 - an https URL the user gave
        f"{registry_endpoint.rstrip('/')}/_emulator/images",
        data=body,
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as answer:  # noqa: S310
        [seeded] = json.load(answer)["images"]
    return str(seeded["digest"])
