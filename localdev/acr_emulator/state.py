"""The stand-in's registries in memory: per login server, repositories of manifests and tags,
and the log of registry requests. Thread-safe; every change happens under one lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from localdev.acr_emulator.faults import Fault
from localdev.acr_emulator.manifests import Child, Platform
from localdev.acr_emulator.tokens import TokenIssuer
from localdev.acr_emulator.wire import manifest_unknown, name_unknown, tag_unknown

_MAX_LOGGED = 2000


@dataclass(frozen=True)
class Manifest:
    """A stored manifest: its bytes, media type, platform (an image's, when known) and, for an
    index, its children."""

    digest: str
    media_type: str
    content: bytes
    platform: Platform | None
    children: tuple[Child, ...]
    created: str


@dataclass(frozen=True)
class Tag:
    """A tag pointing at a digest."""

    name: str
    digest: str
    created: str
    updated: str


@dataclass
class Repository:
    """One repository of one registry."""

    manifests: dict[str, Manifest] = field(default_factory=dict)
    tags: dict[str, Tag] = field(default_factory=dict)

    def tags_of(self, digest: str) -> list[str]:
        """The tags pointing at ``digest``, sorted."""
        return sorted(tag.name for tag in self.tags.values() if tag.digest == digest)


class RegistryState:
    """All registries the stand-in answers for, keyed by lower-case login server."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._repositories: dict[tuple[str, str], Repository] = {}
        self._requests: list[dict[str, Any]] = []
        self._faults: list[Fault] = []
        self.tokens = TokenIssuer(clock)

    def now(self) -> str:
        """The current time as ACR writes it (ISO 8601, UTC)."""
        return datetime.fromtimestamp(self._clock(), UTC).isoformat().replace("+00:00", "Z")

    def store(self, registry: str, repository: str, manifest: Manifest, tag: str | None = None) -> None:
        """Store ``manifest`` (kept when already there) and point ``tag`` at it."""
        with self._lock:
            repo = self._repositories.setdefault((registry, repository), Repository())
            repo.manifests.setdefault(manifest.digest, manifest)
            if tag is not None:
                previous = repo.tags.get(tag)
                created = previous.created if previous else manifest.created
                repo.tags[tag] = Tag(tag, manifest.digest, created, self.now())

    def repository(self, registry: str, repository: str) -> Repository:
        """The repository (404 NAME_UNKNOWN when absent); a snapshot safe to read unlocked."""
        with self._lock:
            repo = self._repositories.get((registry, repository))
            if repo is None:
                raise name_unknown(repository)
            return Repository(dict(repo.manifests), dict(repo.tags))

    def tag(self, registry: str, repository: str, name: str) -> Tag:
        """The tag (404 NAME_UNKNOWN or TAG_UNKNOWN)."""
        tag = self.repository(registry, repository).tags.get(name)
        if tag is None:
            raise tag_unknown(name)
        return tag

    def manifest(self, registry: str, repository: str, reference: str) -> Manifest:
        """The manifest a tag or digest names (404 NAME_UNKNOWN or MANIFEST_UNKNOWN)."""
        repo = self.repository(registry, repository)
        tag = repo.tags.get(reference)
        found = repo.manifests.get(tag.digest if tag else reference)
        if found is None:
            raise manifest_unknown(reference)
        return found

    def images(self) -> list[dict[str, str]]:
        """Every tag of every registry, as ``{"image", "digest"}``, sorted."""
        with self._lock:
            items = [
                {"image": f"{registry}/{repository}:{tag.name}", "digest": tag.digest}
                for (registry, repository), repo in self._repositories.items()
                for tag in repo.tags.values()
            ]
        return sorted(items, key=lambda item: item["image"])

    def log(self, entry: dict[str, Any]) -> None:
        """Append one registry request to the log (the oldest go beyond a bound)."""
        with self._lock:
            self._requests.append(entry)
            del self._requests[:-_MAX_LOGGED]

    def requests(self) -> list[dict[str, Any]]:
        """The logged registry requests, oldest first."""
        with self._lock:
            return list(self._requests)

    def set_faults(self, faults: list[Fault]) -> None:
        """Replace the injected faults."""
        with self._lock:
            self._faults = list(faults)

    def faults(self) -> list[dict[str, Any]]:
        """The injected faults with the uses they have left."""
        with self._lock:
            return [fault.to_json() for fault in self._faults if fault.count > 0]

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The first fault matching the request, one of its uses spent; ``None`` if none."""
        with self._lock:
            fault = next((f for f in self._faults if f.matches(method, path)), None)
            if fault is not None:
                fault.count -= 1
            return fault

    def reset(self) -> None:
        """Forget every registry, logged request and fault."""
        with self._lock:
            self._repositories.clear()
            self._requests.clear()
            self._faults.clear()
