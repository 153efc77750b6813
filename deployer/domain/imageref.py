"""Container image references: ``registry/repository:tag`` or ``registry/repository@sha256:...``. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

_REGISTRY = r"(?P<registry>[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?)"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = rf"(?P<repository>{_COMPONENT}(?:/{_COMPONENT})*)"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"sha256:[a-f0-9]{64}"
#: An image digest as the registry reports it and holds name it: ``sha256:`` and 64 lowercase hex digits.
DIGEST = re.compile(_DIGEST)
_IMAGE = re.compile(rf"^{_REGISTRY}/{_REPOSITORY}(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$")
_TAG_ONLY = re.compile(rf"^{_TAG}$")
_REPOSITORY_ONLY = re.compile(rf"^{_REPOSITORY}$")
_REGISTRY_ONLY = re.compile(rf"^{_REGISTRY}$")


class ImageRefError(ValueError):
    """An image reference that does not parse."""


@dataclass(frozen=True, kw_only=True)
class ImageRef:
    """A parsed, fully qualified image reference."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, text: str) -> ImageRef:
        match = _IMAGE.fullmatch(text) if len(text) <= 1024 else None
        if not match or not (match.group("tag") or match.group("digest")):
            raise ImageRefError(
                f"{text[:200]!r} is not an image reference: expected registry/repository:tag "
                "or registry/repository@sha256:<64 hex>"
            )
        return cls(
            registry=match.group("registry"),
            repository=match.group("repository"),
            tag=match.group("tag"),
            digest=match.group("digest"),
        )


def resolve(text: str, *, registry: str | None, repository: str) -> ImageRef:
    """``text`` completed from an agent's ``registry`` and ``repository``: ``:TAG`` and
    ``@sha256:...`` name an image of the agent's repository, ``repository:tag`` (no registry
    host before the first ``/``) one in the agent's registry; a full reference stays as it is."""
    completed = f"{repository}{text}" if text.startswith((":", "@")) else text
    head, slash, _ = completed.partition("/")
    named = bool(slash) and ("." in head or ":" in head or head == "localhost")
    if not named:  # a stand-in registry first, so that what is no image at all is said to be so
        completed = f"{registry or 'registry.invalid'}/{completed}"
    try:
        ref = ImageRef.parse(completed)
    except ImageRefError:
        raise ImageRefError(
            f"{text[:200]!r} is not an image reference: expected registry/repository:tag,"
            " registry/repository@sha256:<64 hex>, repository:tag or :tag"
        ) from None
    if not named and registry is None:
        raise ImageRefError(
            f"{text[:200]!r} names no registry, and the agent takes images from more than one:"
            " give registry/repository:tag"
        )
    return ref


def is_valid_tag(tag: str) -> bool:
    return bool(_TAG_ONLY.fullmatch(tag))


def is_valid_digest(digest: str) -> bool:
    return bool(DIGEST.fullmatch(digest))


def is_valid_repository(repository: str) -> bool:
    return len(repository) <= 256 and bool(_REPOSITORY_ONLY.fullmatch(repository))


def is_valid_registry(registry: str) -> bool:
    return len(registry) <= 253 and bool(_REGISTRY_ONLY.fullmatch(registry))
