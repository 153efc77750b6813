"""A hand-written ImageRegistry: images put in place by the test, lookups recorded, failures
queued."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from deployer.domain.errors import PlatformError
from deployer.domain.imageref import ImageRef
from deployer.domain.images import ImageFacts

OCI_INDEX = "application/vnd.oci.image.index.v1+json"


@dataclass
class FakeRegistry:
    images: dict[tuple[str, str, str], ImageFacts] = field(default_factory=dict)
    lookups: list[tuple[str, str, str]] = field(default_factory=list)
    #: Raised by the next lookups, one each, before any answers.
    failures: list[PlatformError] = field(default_factory=list)

    def push(self, image: str, *, digest: str | None = None, platforms: tuple[str, ...] = ()) -> str:
        """Put ``registry/repository:tag`` (or ``@digest``) in place; its digest. ``platforms``:
        a multi-arch index of those (default: a single image whose platform is not reported)."""
        ref = ImageRef.parse(image)
        digest = digest or ref.digest or "sha256:" + hashlib.sha256(image.encode()).hexdigest()
        facts = ImageFacts(digest=digest, media_type=OCI_INDEX if platforms else None, platforms=platforms)
        for reference in filter(None, (ref.tag, digest)):
            self.images[(ref.registry, ref.repository, reference)] = facts
        return digest

    def inspect(self, registry: str, repository: str, reference: str) -> ImageFacts | None:
        self.lookups.append((registry, repository, reference))
        if self.failures:
            raise self.failures.pop(0)
        return self.images.get((registry, repository, reference))


def unreachable() -> PlatformError:
    return PlatformError(
        code="RegistryUnreachable", message="connection refused", status_code=None, retryable=True
    )
