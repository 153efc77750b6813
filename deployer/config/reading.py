"""pydantic's validation errors of ``deployer.yaml`` in a person's words: each names its field
(``agents[1].memory``), an unknown key with the known one it may be a misspelling of, a required
field that is not written as missing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

from pydantic import BaseModel

from deployer.config import checks
from deployer.config.checks import Problem
from deployer.config.document import Model
from deployer.domain.model import STRATEGIES

#: The tags of the fields that are a string or a mapping (``rollout``) or a flag or a mapping.
_UNION_TAGS = frozenset({"name", "settings", "flag"})


class Reading:
    """pydantic's errors for the document ``raw`` as problems, one per cause: a missing field that
    an unknown key looks like a misspelling of is that key's problem alone."""

    def __init__(self, root: type[Model], raw: Mapping[str, Any], errors: list[Any]) -> None:
        self._root, self._raw, self._errors = root, raw, errors
        self._typos = {
            _join(_path(loc[:-1]), guess)
            for loc in (_readable(e["loc"]) for e in errors if e["type"] == "extra_forbidden")
            if (guess := self._guess(loc)) is not None
        }

    def problems(self) -> list[str]:
        return [p for error in self._errors for p in self._problems(error)]

    def _problems(self, error: Mapping[str, Any]) -> list[str]:
        loc = _readable(error["loc"])
        where = _path(loc)
        if self._required(loc) and _absent(self._raw, loc):
            return [] if where in self._typos else [f"{where}: missing (required)"]
        if error["type"] == "invalid_key":
            key = _join(_path(loc[:-1]), key_step(loc[-1]))
            return [f"{key}: a key must be text: put it in quotes, or remove it"]
        exc = (error.get("ctx") or {}).get("error")
        if isinstance(exc, Problem):
            return [f"{_join(where, at)}: {message}" for at, message in exc.found]
        if error["type"] == "extra_forbidden":
            guess = repr(typo) if (typo := self._guess(loc)) else _strategy(loc)
            return [f"{where}: unknown field" + (f" (did you mean {guess}?)" if guess else "")]
        return [f"{where}: {error['msg']}"]

    def _guess(self, loc: tuple[int | str, ...]) -> str | None:
        """The known key an unknown one (the last of ``loc``) may be a typo of."""
        model = self._model_at(loc[:-1])
        return None if model is None else checks.close_to(loc[-1], model.model_fields)

    def _required(self, loc: tuple[int | str, ...]) -> bool:
        """Whether the field at ``loc`` is one the file must set."""
        model = self._model_at(loc[:-1]) if loc else None
        return model is not None and issubclass(model, Model) and loc[-1] in model.REQUIRED

    def _model_at(self, loc: tuple[int | str, ...]) -> type[BaseModel] | None:
        """The model of the mapping at ``loc``."""
        model: type[BaseModel] | None = self._root
        for part in loc:
            if model is None:
                return None
            if isinstance(part, str) and part in model.model_fields:
                model = _model_in(model.model_fields[part].annotation)
        return model


def _absent(raw: object, loc: tuple[int | str, ...]) -> bool:
    """Whether the field at ``loc`` is not written in ``raw`` (pydantic checked its default)."""
    for part in loc[:-1]:
        if isinstance(raw, list) and isinstance(part, int) and 0 <= part < len(raw):
            raw = raw[part]
            continue
        if not (isinstance(raw, Mapping) and part in raw):
            return False
        raw = raw[part]
    return bool(loc) and isinstance(loc[-1], str) and isinstance(raw, Mapping) and loc[-1] not in raw


def _strategy(loc: tuple[int | str, ...]) -> str | None:
    """An unknown key of an agent that names a rollout strategy (``canery: true``)."""
    close = checks.close_to(loc[-1], STRATEGIES) if len(loc) == 3 and loc[0] == "agents" else None
    return f"rollout: {{strategy: {close}}}" if close else None


def _readable(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """``loc`` without the tags pydantic adds for a field that is one of two kinds."""
    return tuple(
        p
        for i, p in enumerate(loc)
        if not (p in _UNION_TAGS and i and loc[i - 1] in ("rollout", "preflight"))
    )


def key_step(key: object) -> str:
    """The step of a field's path that names a mapping key which is not a string (YAML reads
    ``1:`` or ``null:`` as a number or nothing): ``[1]``, ``[None]``. ``source`` places it."""
    return f"[{key}]"


def _path(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def _join(where: str, at: str) -> str:
    if not where or not at:
        return where or at
    return f"{where}{at}" if at.startswith("[") else f"{where}.{at}"


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
