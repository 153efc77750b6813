"""App settings for the dev host: ``local.settings.json`` and ``%SETTING%`` references.

As ``func start`` does, the ``Values`` of ``local.settings.json`` become environment variables before the
app is imported, and a variable already set in the environment wins over the file. Binding properties
such as a timer's ``schedule`` may name an app setting as ``%NAME%``; those are resolved from the
environment, and a missing setting is an error.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, MutableMapping
from pathlib import Path

__all__ = ["SettingsError", "load_local_settings", "resolve_setting_references"]

_REFERENCE = re.compile(r"%([^%]+)%")


class SettingsError(RuntimeError):
    """``local.settings.json`` is unusable, or a ``%SETTING%`` is not set."""


def _as_setting_value(name: str, value: object, path: Path) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise SettingsError(f"{path}: Values.{name} must be a string, not {type(value).__name__}")


def read_local_settings(path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``Values`` of a ``local.settings.json`` file; ``{}`` when the file does not exist."""
    file = Path(path)
    if not file.is_file():
        return {}
    try:
        document = json.loads(file.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as error:
        raise SettingsError(f"{file}: cannot read local settings: {error}") from error
    if not isinstance(document, dict):
        raise SettingsError(f"{file}: expected a JSON object")
    if document.get("IsEncrypted") is True:
        raise SettingsError(f"{file}: encrypted settings are not supported by the dev host")
    values = document.get("Values", {})
    if not isinstance(values, dict):
        raise SettingsError(f"{file}: Values must be a JSON object")
    return {str(name): _as_setting_value(str(name), value, file) for name, value in values.items()}


def load_local_settings(
    path: str | os.PathLike[str] | None, environ: MutableMapping[str, str] | None = None
) -> dict[str, str]:
    """Copy the file's ``Values`` into ``environ`` (default ``os.environ``) where not already set.

    Returns the values that were applied. A ``None`` path or a missing file applies nothing.
    """
    target = os.environ if environ is None else environ
    if path is None:
        return {}
    applied = {name: value for name, value in read_local_settings(path).items() if name not in target}
    target.update(applied)
    return applied


def resolve_setting_references(text: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace each ``%NAME%`` in ``text`` with the app setting ``NAME``; raises if one is missing."""
    source = os.environ if environ is None else environ

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in source:
            raise SettingsError(f"app setting {name!r} (referenced as %{name}% in {text!r}) is not set")
        return source[name]

    return _REFERENCE.sub(substitute, text)
