"""Semantic versions (semver.org 2.0) and ranges as people write them for npm: comparators
(``>=1.0.0 <2.0.0``), ``x``/``*`` ranges (``1.2.x``, ``2``, ``*``), ``^`` and ``~`` (``~>``),
hyphen ranges (``1.2 - 2``) and alternatives (``||``), with node-semver's meaning: a partial
version in a range is an x-range (``1.2`` = ``1.2.x``), and a prerelease only matches a
comparator set that names a prerelease of the same MAJOR.MINOR.PATCH. Tags may carry a ``v``
and be partial (``v1.5`` = ``1.5.0``). Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_IDENT = r"(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
_PRE = rf"{_IDENT}(?:\.{_IDENT})*"
_BUILD = r"[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*"
_NUM = r"0|[1-9]\d*"
#: A version or a tag naming one: ``v`` allowed, MINOR and PATCH optional (0), prerelease and
#: build only after a full MAJOR.MINOR.PATCH.
_VERSION = re.compile(rf"^v?({_NUM})(?:\.({_NUM})(?:\.({_NUM})(?:-({_PRE}))?(?:\+{_BUILD})?)?)?$")
_PART = r"0|[1-9]\d*|[xX*]"
#: A partial version in a range: any missing or ``x``/``X``/``*`` part is a wildcard.
_PARTIAL = re.compile(rf"^[v=]*({_PART})(?:\.({_PART})(?:\.({_PART})(?:-({_PRE}))?(?:\+{_BUILD})?)?)?$")
_HYPHEN = re.compile(r"^\s*(\S+)\s+-\s+(\S+)\s*$")
_OPERATOR = re.compile(r"^(>=|<=|>|<|=|\^|~>?)?(.*)$")


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
        major, minor, patch, pre = match.groups()
        return cls(int(major), int(minor or 0), int(patch or 0), tuple(pre.split(".")) if pre else ())

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def same_release(self, other: Version) -> bool:
        return (self.major, self.minor, self.patch) == (other.major, other.minor, other.patch)


def parse_version(text: str) -> Version | None:
    """The version ``text`` names, or None when it is not a semantic version."""
    try:
        return Version.parse(text)
    except SemverError:
        return None


#: One comparator: an operator (``>=``, ``<=``, ``>``, ``<``, ``=``) and its bound; ``None``: any.
Comparator = tuple[str, Version] | None
_NOTHING: Comparator = ("<", Version(0, 0, 0, ("0",)))


@dataclass(frozen=True)
class Range:
    """A semver range: alternatives (``||``) of comparator sets that must all hold."""

    alternatives: tuple[tuple[Comparator, ...], ...]

    @classmethod
    def parse(cls, text: str) -> Range:
        alternatives = []
        for part in text.split("||"):
            comparators = _hyphen(part) or [c for token in _tokens(part) for c in _comparators(token)]
            if not comparators:
                raise SemverError(f"empty range in {text!r}")
            alternatives.append(tuple(comparators))
        return cls(tuple(alternatives))

    def contains(self, version: Version) -> bool:
        """Whether ``version`` is in the range; a prerelease only where a comparator of the
        same set names a prerelease of its MAJOR.MINOR.PATCH."""
        return any(_set_contains(cs, version) for cs in self.alternatives)


def _set_contains(comparators: tuple[Comparator, ...], version: Version) -> bool:
    if not all(c is None or _holds(*c, version) for c in comparators):
        return False
    if not version.prerelease:
        return True
    return any(c is not None and c[1].prerelease and c[1].same_release(version) for c in comparators)


def _tokens(part: str) -> list[str]:
    # ">= 1.0.0" and "~> 1" are one comparator: glue operators to the version after them.
    return re.sub(r"(>=|<=|>|<|=|\^|~>?)\s+", r"\1", part.strip()).split()


@dataclass(frozen=True)
class _Partial:
    """A version in a range; ``None`` for a wildcard (missing, ``x``, ``X`` or ``*``) part."""

    major: int | None
    minor: int | None
    patch: int | None
    pre: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> _Partial:
        match = _PARTIAL.fullmatch(text)
        if not match:
            raise SemverError(f"{text!r} is not a range comparator (e.g. >=1.2.0, <2, ^1.2, ~1.2.3, 1.x)")
        major, minor, patch = (None if p is None or p in "xX*" else int(p) for p in match.groups()[:3])
        if major is None:  # a wildcard part makes every part after it one
            minor = patch = None
        elif minor is None:
            patch = None
        pre = match.group(4)
        return cls(major, minor, patch, tuple(pre.split(".")) if pre and patch is not None else ())

    def floor(self) -> Version:
        return Version(self.major or 0, self.minor or 0, self.patch or 0, self.pre)


def _v(major: int, minor: int, patch: int, pre: tuple[str, ...] = ()) -> Version:
    return Version(major, minor, patch, pre)


def _hyphen(part: str) -> list[Comparator]:
    """``1.2.3 - 2.3`` as ``>=1.2.3 <2.4.0-0``; [] when ``part`` is no hyphen range."""
    match = _HYPHEN.fullmatch(part)
    if not match:
        return []
    low, high = _Partial.parse(match.group(1)), _Partial.parse(match.group(2))
    comparators: list[Comparator] = [None if low.major is None else (">=", low.floor())]
    if high.major is None:
        comparators.append(None)
    elif high.minor is None:
        comparators.append(("<", _v(high.major + 1, 0, 0, ("0",))))
    elif high.patch is None:
        comparators.append(("<", _v(high.major, high.minor + 1, 0, ("0",))))
    else:
        comparators.append(("<=", high.floor()))
    return comparators


def _comparators(token: str) -> list[Comparator]:
    match = _OPERATOR.fullmatch(token)
    assert match is not None  # every token matches: the operator is optional
    op, version = match.group(1) or "", _Partial.parse(match.group(2))
    if op == "^":
        return _caret(version)
    if op.startswith("~"):
        return _tilde(version)
    return _x_range(op, version)


def _caret(v: _Partial) -> list[Comparator]:
    """``^``: changes that do not modify the left-most non-zero part."""
    if v.major is None:
        return [None]
    if v.minor is None:
        return [(">=", v.floor()), ("<", _v(v.major + 1, 0, 0, ("0",)))]
    if v.major == 0 and v.minor == 0 and v.patch is not None:
        return [(">=", v.floor()), ("<", _v(0, 0, v.patch + 1, ("0",)))]
    if v.major == 0:
        return [(">=", v.floor()), ("<", _v(0, v.minor + 1, 0, ("0",)))]
    return [(">=", v.floor()), ("<", _v(v.major + 1, 0, 0, ("0",)))]


def _tilde(v: _Partial) -> list[Comparator]:
    """``~``: patch changes if a minor version is given, minor changes if not."""
    if v.major is None:
        return [None]
    if v.minor is None:
        return [(">=", v.floor()), ("<", _v(v.major + 1, 0, 0, ("0",)))]
    return [(">=", v.floor()), ("<", _v(v.major, v.minor + 1, 0, ("0",)))]


def _x_range(op: str, v: _Partial) -> list[Comparator]:
    """A comparator whose version may be partial: ``1.2`` = ``>=1.2.0 <1.3.0-0``, ``>1.2`` =
    ``>=1.3.0``, ``<=1.2`` = ``<1.3.0-0``, ``<1.2`` = ``<1.2.0-0``."""
    if v.major is None:
        return [_NOTHING] if op in (">", "<") else [None]
    if v.patch is not None:
        return [(op or "=", v.floor())]
    bump = _v(v.major + 1, 0, 0) if v.minor is None else _v(v.major, v.minor + 1, 0)
    below_bump: Comparator = ("<", _v(bump.major, bump.minor, 0, ("0",)))
    by_operator: dict[str, list[Comparator]] = {
        "": [(">=", v.floor()), below_bump],
        "=": [(">=", v.floor()), below_bump],
        ">": [(">=", bump)],
        ">=": [(">=", v.floor())],
        "<=": [below_bump],
        "<": [("<", _v(v.major, v.minor or 0, 0, ("0",)))],
    }
    return by_operator[op]


def _holds(op: str, bound: Version, version: Version) -> bool:
    return {
        ">=": version >= bound,
        "<=": version <= bound,
        ">": version > bound,
        "<": version < bound,
        "=": version == bound,
    }[op]
