"""Which tags an agent accepts: a glob (default), ``semver:<range>`` or ``regex:<pattern>``. Pure."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Literal

from deployer.domain.semver import Range, SemverError, parse_version

Kind = Literal["glob", "semver", "regex"]


class TagPolicyError(ValueError):
    """A tag policy that cannot be used."""


@dataclass(frozen=True)
class TagPolicy:
    """A parsed tag policy. ``latest`` is refused unless ``allow_latest`` is set."""

    kind: Kind
    pattern: str
    allow_latest: bool = False

    @classmethod
    def parse(cls, text: str, *, allow_latest: bool = False) -> TagPolicy:
        kind: Kind = "glob"
        pattern = text
        if text.startswith("semver:"):
            kind, pattern = "semver", text.removeprefix("semver:").strip()
            try:
                Range.parse(pattern)
            except SemverError as exc:
                raise TagPolicyError(str(exc)) from None
        elif text.startswith("regex:"):
            kind, pattern = "regex", text.removeprefix("regex:")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise TagPolicyError(f"regex {pattern!r} does not compile: {exc}") from None
        if not pattern:
            raise TagPolicyError("the tag policy is empty")
        return cls(kind, pattern, allow_latest)

    @property
    def written(self) -> str:
        """The policy as ``deployer.yaml`` writes it (``1.*``, ``semver:^1.2``, ``regex:...``)."""
        return self.pattern if self.kind == "glob" else f"{self.kind}:{self.pattern}"

    @property
    def orders_versions(self) -> bool:
        """Whether deployments under this policy must never move to a lower version."""
        return self.kind == "semver"

    def accepts(self, tag: str) -> bool:
        if tag == "latest" and not self.allow_latest:
            return False
        if self.kind == "semver":
            version = parse_version(tag)
            return version is not None and Range.parse(self.pattern).contains(version)
        if self.kind == "regex":
            return re.fullmatch(self.pattern, tag) is not None
        return fnmatch.fnmatchcase(tag, self.pattern)
