"""Images put in place through the admin API (``PUT /_emulator/images``), as if pushed.

A seeded image gets made-up manifests: one OCI image manifest per platform and, for several
platforms, an OCI image index over them (its children stored too). Without a ``digest`` the
digest is that of the manifest's bytes, so the same image always gets the same digest. With a
``digest`` the tag points at that digest as given; the stored bytes then do not hash to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from localdev.acr_emulator.manifests import (
    OCI_INDEX,
    OCI_MANIFEST,
    Child,
    Platform,
    digest_of,
    index_of,
    made_up_image,
)
from localdev.acr_emulator.state import Manifest, RegistryState
from localdev.acr_emulator.wire import bad_request

DEFAULT_PLATFORM = "linux/amd64"
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_REPOSITORY = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class ImageRef:
    """``registry/repository:tag`` split into its parts (registry lower-cased)."""

    registry: str
    repository: str
    tag: str

    @classmethod
    def parse(cls, text: Any) -> ImageRef:
        """Parse ``login-server/repository:tag`` (400 when malformed)."""
        registry, _, rest = text.partition("/") if isinstance(text, str) else ("", "", "")
        repository, _, tag = rest.rpartition(":")
        if not registry or ("." not in registry and ":" not in registry and registry != "localhost"):
            raise bad_request("INVALID_REQUEST", f"{text!r} does not start with a registry login server.")
        if not _REPOSITORY.match(repository) or not _TAG.match(tag):
            raise bad_request("INVALID_REQUEST", f"{text!r} is not 'login-server/repository:tag'.")
        return cls(registry.lower(), repository, tag)

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"


def seed(state: RegistryState, body: Any) -> list[dict[str, Any]]:
    """Store every image of ``{"images": [...]}``; all are checked before any is stored."""
    items = body.get("images") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise bad_request("INVALID_REQUEST", 'The body must be {"images": [{"image": ...}, ...]}.')
    planned = [_plan(state, item) for item in items]
    for ref, manifests in planned:
        for manifest in manifests[1:]:
            state.store(ref.registry, ref.repository, manifest)
        state.store(ref.registry, ref.repository, manifests[0], ref.tag)
    return [_describe(ref, manifests) for ref, manifests in planned]


def _plan(state: RegistryState, item: Any) -> tuple[ImageRef, list[Manifest]]:
    """The image's reference and its manifests, the tagged one first."""
    if not isinstance(item, dict) or set(item) - {"image", "digest", "platforms"}:
        raise bad_request("INVALID_REQUEST", 'Each image is {"image", "digest"?, "platforms"?}.')
    ref = ImageRef.parse(item.get("image"))
    digest = item.get("digest")
    if digest is not None and not (isinstance(digest, str) and DIGEST.match(digest)):
        raise bad_request("INVALID_REQUEST", f"The digest of {ref} is not 'sha256:<64 hex>'.")
    names = item.get("platforms", [DEFAULT_PLATFORM])
    if not isinstance(names, list) or not names:
        raise bad_request("INVALID_REQUEST", f"The platforms of {ref} must be a non-empty list.")
    platforms = list(dict.fromkeys(Platform.parse(name) for name in names))
    now = state.now()
    images = [_image(str(ref), platform, now) for platform in platforms]
    if len(images) == 1:
        only = images[0]
        return ref, [Manifest(digest or only.digest, OCI_MANIFEST, only.content, only.platform, (), now)]
    children = tuple(Child(m.digest, m.media_type, len(m.content), m.platform) for m in images)
    content = index_of(list(children))
    return ref, [Manifest(digest or digest_of(content), OCI_INDEX, content, None, children, now), *images]


def _image(image: str, platform: Platform, now: str) -> Manifest:
    content = made_up_image(image, platform)
    return Manifest(digest_of(content), OCI_MANIFEST, content, platform, (), now)


def _describe(ref: ImageRef, manifests: list[Manifest]) -> dict[str, Any]:
    tagged = manifests[0]
    return {
        "image": str(ref),
        "digest": tagged.digest,
        "mediaType": tagged.media_type,
        "platforms": [
            {"platform": str(m.platform), "digest": m.digest} for m in manifests if m.platform is not None
        ],
    }
