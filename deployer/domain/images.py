"""What the registry says of a deployment's image, and what the deployer decides from it: the
image must exist, and a multi-arch index must list ``linux/amd64`` (hosted agents run on
linux/amd64 only; a single image the registry reports for another platform is refused too).
Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

#: The platform hosted agents run on.
AMD64 = "linux/amd64"
CheckResult = Literal["found", "image_not_found", "no_amd64_image"]
NOT_FOUND: CheckResult = "image_not_found"
NO_AMD64: CheckResult = "no_amd64_image"


@dataclass(frozen=True, kw_only=True)
class ImageFacts:
    """An image as its registry describes it: the digest its reference resolves to, the
    manifest's media type (when it was read) and its platforms (``os/architecture[/variant]``):
    those a multi-arch index lists, or a single image's own when the registry reports it."""

    digest: str
    media_type: str | None
    platforms: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ImageCheck:
    """The registry check of a deployment's image before its version is created: what was
    asked for (``reference``: a tag or digest), what was found, and the verdict."""

    result: CheckResult
    reference: str
    at: str
    digest: str | None = None
    media_type: str | None = None
    platforms: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The ``image_check`` of the deployment document (and its stored form)."""
        return {
            "result": self.result,
            "reference": self.reference,
            "at": self.at,
            "digest": self.digest,
            "media_type": self.media_type,
            "platforms": list(self.platforms),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ImageCheck:
        return cls(
            result=raw["result"],
            reference=raw["reference"],
            at=raw["at"],
            digest=raw.get("digest"),
            media_type=raw.get("media_type"),
            platforms=tuple(raw.get("platforms") or ()),
        )

    @property
    def note(self) -> str:
        """The history entry's note: the digest and, for an index, its platforms."""
        if self.result == NOT_FOUND:
            return f"{self.reference}: not found"
        platforms = f" ({', '.join(self.platforms)})" if self.platforms else ""
        return f"{self.reference} -> {self.digest}{platforms}"


def judge(facts: ImageFacts | None, *, reference: str, at: str) -> ImageCheck:
    """The check of ``reference`` given what the registry said (``None``: it has no such image).
    Refused: an image whose known platforms (an index's, or a single image's) lack linux/amd64."""
    if facts is None:
        return ImageCheck(result=NOT_FOUND, reference=reference, at=at)
    lacking = bool(facts.platforms) and AMD64 not in _base_platforms(facts.platforms)
    return ImageCheck(
        result=NO_AMD64 if lacking else "found",
        reference=reference,
        at=at,
        digest=facts.digest,
        media_type=facts.media_type,
        platforms=facts.platforms,
    )


def _base_platforms(platforms: tuple[str, ...]) -> set[str]:
    """``os/architecture`` of each platform, any variant dropped."""
    return {"/".join(p.split("/")[:2]) for p in platforms}
