"""Semantic versions (semver.org 2.0) and ranges such as ``>=1.0.0 <2.0.0 || ^3.1``. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_VERSION = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_COMPARATOR = re.compile(r"^(>=|<=|>|<|=|\^|~)?\s*(v?\d+(?:\.\d+){0,2}(?:-[0-9A-Za-z.-]+)?)$")


class SemverError(ValueError):
    """A version or range that does not parse."""


@total_ordering
@dataclass(frozen=True)
class Version:
    """A parsed semantic version; ordering follows the semver precedence rules."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _VERSION.fullmatch(text)
        if not match:
            raise SemverError(f"{text!r} is not a semantic version (MAJOR.MINOR.PATCH)")
        pre = tuple(match.group(4).split(".")) if match.group(4) else ()
        return cls(int(match.group(1)), int(match.group(2)), int(match.group(3)), pre)

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()


def parse_version(text: str) -> Version | None:
    """The version ``text`` names, or None when it is not a semantic version."""
    try:
        return Version.parse(text)
    except SemverError:
        return None


@dataclass(frozen=True)
class Range:
    """A semver range: alternatives (``||``) of comparator sets that must all hold."""

    alternatives: tuple[tuple[tuple[str, Version], ...], ...]

    @classmethod
    def parse(cls, text: str) -> Range:
        alternatives = []
        for part in text.split("||"):
            comparators: list[tuple[str, Version]] = []
            for token in _tokens(part):
                comparators.extend(_comparators(token))
            if not comparators:
                raise SemverError(f"empty range in {text!r}")
            alternatives.append(tuple(comparators))
        return cls(tuple(alternatives))

    def contains(self, version: Version) -> bool:
        """Whether ``version`` is in the range; prereleases only match when asked for."""
        return any(self._set_contains(cs, version) for cs in self.alternatives)

    @staticmethod
    def _set_contains(comparators: tuple[tuple[str, Version], ...], version: Version) -> bool:
        if version.prerelease and not any(bound.prerelease for _, bound in comparators):
            return False
        return all(_holds(op, version, bound) for op, bound in comparators)


def _tokens(part: str) -> list[str]:
    # ">= 1.0.0" is one comparator: glue operators to the version after them.
    return re.sub(r"(>=|<=|>|<|=|\^|~)\s+", r"\1", part.strip()).split()


def _comparators(token: str) -> list[tuple[str, Version]]:
    match = _COMPARATOR.fullmatch(token)
    if not match:
        raise SemverError(f"{token!r} is not a range comparator (e.g. >=1.2.0, <2.0.0, ^1.2, ~1.2.3)")
    op, raw = match.group(1) or "=", match.group(2).lstrip("v")
    core, _, pre = raw.partition("-")
    parts = [int(p) for p in core.split(".")]
    major, minor, patch = parts + [0] * (3 - len(parts))
    base = Version(major, minor, patch, tuple(pre.split(".")) if pre else ())
    if op == "^":
        upper = _caret_upper(parts)
        return [(">=", base), ("<", upper)]
    if op == "~":
        upper = Version(parts[0] + 1, 0, 0) if len(parts) == 1 else Version(parts[0], parts[1] + 1, 0)
        return [(">=", base), ("<", upper)]
    return [(op, base)]


def _caret_upper(parts: list[int]) -> Version:
    padded = parts + [0] * (3 - len(parts))
    if padded[0] > 0 or len(parts) == 1:
        return Version(padded[0] + 1, 0, 0)
    if padded[1] > 0 or len(parts) == 2:
        return Version(0, padded[1] + 1, 0)
    return Version(0, 0, padded[2] + 1)


def _holds(op: str, version: Version, bound: Version) -> bool:
    return {
        ">=": version >= bound,
        "<=": version <= bound,
        ">": version > bound,
        "<": version < bound,
        "=": version == bound,
    }[op]
