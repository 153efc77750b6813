"""The checks of single values of ``deployer.yaml``, each saying what is wrong in words a person can
act on. A check returns the value to keep or raises :class:`Problem`, which may name the key below
the field where the problem is (``protocols.grpc``); ``deployer.config.document`` attaches them
to the fields of the file. A notification receiver's checks are in ``receiver_checks``."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from itertools import pairwise

from deployer.domain.agents import AGENT_NAME, PROTOCOLS
from deployer.domain.imageref import is_valid_registry, is_valid_repository
from deployer.domain.roles import HOW_TO_FIND_PROJECT_RESOURCE_ID, is_project_resource_id
from deployer.domain.smoke import parse_path
from deployer.domain.tag_policy import TagPolicy, TagPolicyError

_CPU = re.compile(r"^(?:\d+(?:\.\d+)?|\d+m)$")
_MEMORY = re.compile(r"^\d+(?:\.\d+)?(?:Mi|Gi)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_SMOKE_TIMEOUT_S = 300.0
MAX_SMOKE_ATTEMPTS = 10


class Problem(ValueError):
    """What is wrong with a value: ``(key below the field, message)`` pairs, all reported."""

    def __init__(self, *found: tuple[str, str]) -> None:
        super().__init__("; ".join(message for _, message in found))
        self.found = found


def fail(message: str, at: str = "") -> Problem:
    return Problem((at, message))


def close_to(word: object, known: Iterable[str]) -> str | None:
    """The one of ``known`` that ``word`` looks like a misspelling of, if any."""
    if not isinstance(word, str):
        return None
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.75)
    return close[0] if close else None


def did_you_mean(word: object, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when ``word`` looks like a misspelling of ``x`` in ``known``."""
    close = close_to(word, known)
    return f" (did you mean {close!r}?)" if close else ""


def whole(value: object, low: int, high: int | None, message: str) -> int:
    """``value`` if it is a whole number from ``low`` to ``high`` (no bound: ``None``)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        raise fail(message)
    return value


def number(value: object, ok: Callable[[float], bool], message: str) -> float:
    """``value`` as seconds, if it is a number that ``ok`` accepts."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not ok(value):
        raise fail(message)
    return float(value)


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise fail("must be true or false")
    return value


def names(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(n, str) and n for n in value):
        raise fail("must be a list of names")
    return tuple(value)


def https(value: object) -> str:
    if not isinstance(value, str) or not value.startswith("https://"):
        raise fail("must be an https:// URL")
    return value


def cpu(value: object) -> str:
    text = str(value)
    if not _CPU.fullmatch(text):
        raise fail(f'{text!r} is not a CPU amount (e.g. "1", "0.5" or "500m")')
    return text


def memory(value: object) -> str:
    text = str(value)
    if not _MEMORY.fullmatch(text):
        raise fail(f'{text!r} is not a memory amount (e.g. "2Gi" or "512Mi")')
    return text


def agent_name(value: object) -> str:
    if not isinstance(value, str) or not AGENT_NAME.fullmatch(value):
        raise fail(
            f"{value!r} is not a valid agent name: letters, digits and hyphens, "
            "starting and ending with a letter or digit, at most 63 characters"
        )
    return value


def repository(value: object) -> str:
    if not isinstance(value, str) or not is_valid_repository(value):
        raise fail(f"{value!r} is not a repository name (e.g. agents/support-bot)")
    return value


def tags(value: object) -> str:
    if not isinstance(value, str):
        raise fail("must be a string: a glob, 'semver:<range>' or 'regex:<pattern>'")
    try:
        TagPolicy.parse(value)
    except TagPolicyError as exc:
        raise fail(str(exc)) from None
    return value


def protocols(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping) or not value:
        raise fail('must map protocol to version, e.g. {responses: "1.0.0"}')
    found = [
        (str(k), f"unknown protocol (known: {', '.join(sorted(PROTOCOLS))})")
        for k in value
        if k not in PROTOCOLS
    ]
    found += [
        (str(k), 'the version must be a string such as "1.0.0"')
        for k, v in value.items()
        if not isinstance(v, str) or not v
    ]
    if found:
        raise Problem(*found)
    return {str(k): str(v) for k, v in value.items()}


def environment(value: object) -> dict[str, str]:
    value = {} if value is None else value
    if not isinstance(value, Mapping):
        raise fail("must be a mapping of NAME: value")
    found = []
    for key, item in value.items():
        if not isinstance(key, str) or not _ENV_NAME.fullmatch(key):
            found.append((str(key), "not a valid environment variable name"))
        elif key.upper().startswith("FOUNDRY_"):
            found.append((key, "the FOUNDRY_ prefix is reserved for variables the platform injects"))
        if not isinstance(item, str | int | float | bool):
            found.append((str(key), "the value must be a string"))
    if found:
        raise Problem(*found)
    return {str(k): str(v) for k, v in value.items()}


def keep(value: object) -> int:
    return whole(value, 1, None, "must be a whole number of at least 1")


def days(value: object) -> int:
    return whole(value, 1, None, "must be a whole number of days, at least 1")


def force_after(value: object) -> float | None:
    if value is None:
        return None
    return number(value, lambda v: v >= 0, "must be a number of seconds (0 or more), or absent")


def timeout(value: object) -> float:
    return number(value, lambda v: v > 0, "must be a positive number of seconds")


def text(value: object) -> str:
    if not isinstance(value, str):
        raise fail("must be a string")
    return value


def project_resource_id(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not is_project_resource_id(value):
        raise fail(f"{value!r} is not {HOW_TO_FIND_PROJECT_RESOURCE_ID}")
    return value


def status(value: object) -> int:
    return whole(value, 100, 599, "must be an HTTP status code")


def nonempty(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise fail("must be a non-empty string")
    return value


def regex(value: object) -> str:
    text = nonempty(value)
    try:
        re.compile(text)
    except re.error as exc:
        raise fail(f"not a valid regular expression ({exc})") from None
    return text


def json_path(value: object) -> str:
    text = nonempty(value)
    if parse_path(text) is None:
        raise fail("not a JSON path such as $.output[0].content[0].text")
    return text


def smoke_timeout(value: object) -> float:
    message = f"must be a number of seconds above 0 and at most {MAX_SMOKE_TIMEOUT_S:.0f}"
    return number(value, lambda v: 0 < v <= MAX_SMOKE_TIMEOUT_S, message)


def attempts(value: object) -> int:
    return whole(value, 1, MAX_SMOKE_ATTEMPTS, f"must be a whole number from 1 to {MAX_SMOKE_ATTEMPTS}")


#: A canary step that waits for a person's approval (``{approve: true}`` in ``steps``).
APPROVE_STEP = "approve"


def steps(value: object) -> tuple[int | str, ...]:
    """Percentages, with :data:`APPROVE_STEP` where ``{approve: true}`` stands before a step."""
    if not isinstance(value, list) or not value:
        raise fail("must be a list of percentages from 1 to 100, e.g. [10, 50, 100]")
    items = [APPROVE_STEP if _approve(p) else p for p in value]
    percentages = [p for p in value if not _approve(p)]
    if not percentages or not all(_is_whole(p) and 1 <= p <= 100 for p in percentages):
        raise fail("must be a list of percentages from 1 to 100 and {approve: true}, e.g. [10, 50, 100]")
    if any(b <= a for a, b in pairwise(percentages)) or percentages[-1] != 100:
        raise fail("must rise step by step and end at 100")
    if items[-1] == APPROVE_STEP or any(a == b == APPROVE_STEP for a, b in pairwise(items)):
        raise fail("{approve: true} must stand before a step (the percentage it lets through)")
    return tuple(items)


def _approve(item: object) -> bool:
    return isinstance(item, dict) and list(item) == ["approve"] and item["approve"] is True


def interval(value: object) -> float:
    return number(value, lambda v: v >= 0, "must be a number of seconds, 0 or more")


def smoke_failures(value: object) -> int:
    return whole(value, 1, None, "must be a whole number of at least 1")


def registry_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise fail("must be a non-empty list of registry login servers")
    found = [
        (f"[{i}]", f"{r!r} is not a registry login server")
        for i, r in enumerate(value)
        if not isinstance(r, str) or not is_valid_registry(r.lower())
    ]
    if found:
        raise Problem(*found)
    return tuple(r.lower() for r in value)
