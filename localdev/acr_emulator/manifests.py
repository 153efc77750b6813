"""Manifests as bytes: made-up ones for seeded images, parsed ones for pushed images, and the
``Accept`` negotiation of ``GET /v2/{name}/manifests/{reference}``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from localdev.acr_emulator.wire import bad_request

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST, *INDEX_TYPES})
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
"""ACR's manifest size limit (the SDK refuses larger ones too)."""


@dataclass(frozen=True)
class Platform:
    """An image's platform, ``os/architecture[/variant]`` as in ``linux/arm64/v8``."""

    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``os/architecture[/variant]`` (400 when malformed)."""
        parts = text.split("/") if isinstance(text, str) else []
        if len(parts) not in (2, 3) or not all(parts):
            raise bad_request("INVALID_REQUEST", f"A platform is 'os/architecture[/variant]', not {text!r}.")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    def json(self) -> dict[str, str]:
        """The OCI ``platform`` object."""
        value = {"architecture": self.architecture, "os": self.os}
        return value | ({"variant": self.variant} if self.variant else {})

    def __str__(self) -> str:
        return "/".join(filter(None, (self.os, self.architecture, self.variant)))


@dataclass(frozen=True)
class Child:
    """One entry of an index: a manifest's digest, media type, size and platform."""

    digest: str
    media_type: str
    size: int
    platform: Platform | None


def digest_of(content: bytes) -> str:
    """The content digest the registry gives these bytes."""
    return "sha256:" + hashlib.sha256(content).hexdigest()


def made_up_image(image: str, platform: Platform) -> bytes:
    """A deterministic OCI image manifest for ``image`` on ``platform`` (same input, same bytes)."""
    seed = f"{image}|{platform}"
    body = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": _made_up_digest("config", seed), "size": 1469},
        "layers": [{"mediaType": OCI_LAYER, "digest": _made_up_digest("layer", seed), "size": 3623807}],
    }
    return _canonical(body)


def index_of(children: list[Child]) -> bytes:
    """An OCI image index listing ``children``."""
    entries = []
    for child in children:
        entry: dict[str, Any] = {"mediaType": child.media_type, "digest": child.digest, "size": child.size}
        if child.platform is not None:
            entry["platform"] = child.platform.json()
        entries.append(entry)
    return _canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})


def parse_pushed(content: bytes, content_type: str | None) -> tuple[str, list[Child]]:
    """Check a pushed manifest; return its media type and, for an index, its children."""
    media_type = (content_type or "").split(";")[0].strip()
    if media_type not in MANIFEST_TYPES:
        raise bad_request("MANIFEST_INVALID", f"Unsupported manifest media type {media_type!r}.")
    if len(content) > MAX_MANIFEST_BYTES:
        raise bad_request("MANIFEST_INVALID", "The manifest is larger than 4 MiB.")
    try:
        body = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad_request("MANIFEST_INVALID", f"The manifest is not valid JSON: {exc}.") from exc
    if not isinstance(body, dict) or body.get("schemaVersion") != 2:
        raise bad_request("MANIFEST_INVALID", "The manifest must be a JSON object with schemaVersion 2.")
    if body.get("mediaType", media_type) != media_type:
        raise bad_request("MANIFEST_INVALID", "The manifest's mediaType differs from its Content-Type.")
    if media_type not in INDEX_TYPES:
        return media_type, []
    return media_type, [_child(entry) for entry in _list(body, "manifests")]


def image_size(content: bytes) -> int:
    """ACR's ``imageSize``: the sizes of an image's config and layers; an index's own length."""
    body = json.loads(content)
    blobs = [body.get("config") or {}, *(body.get("layers") or [])]
    total = sum(int(blob.get("size") or 0) for blob in blobs if isinstance(blob, dict))
    return total or len(content)


def accepts(accept: str | None, media_type: str) -> bool:
    """Whether an ``Accept`` header admits ``media_type`` (no header: anything)."""
    if accept is None or not accept.strip():
        return True
    offered = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(offered & {"*/*", "application/*", media_type})


def _child(entry: Any) -> Child:
    if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str):
        raise bad_request("MANIFEST_INVALID", "Every entry of an index needs a digest.")
    return Child(
        digest=entry["digest"],
        media_type=str(entry.get("mediaType") or OCI_MANIFEST),
        size=int(entry.get("size") or 0),
        platform=_platform(entry.get("platform")),
    )


def _platform(value: Any) -> Platform | None:
    if not isinstance(value, dict) or not value.get("os") or not value.get("architecture"):
        return None
    return Platform(str(value["os"]), str(value["architecture"]), value.get("variant"))


def _list(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key)
    if not isinstance(value, list):
        raise bad_request("MANIFEST_INVALID", f"An index needs a '{key}' list.")
    return value


def _made_up_digest(kind: str, seed: str) -> str:
    return digest_of(f"{kind}|{seed}".encode())


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
