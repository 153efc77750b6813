"""Page tokens of the list routes: opaque to callers, checked when they come back.

A token carries the last row of the page before it, a digest of the filters it was made for
and a checksum of both (base64url). It is not a secret, only a position: anything else sent as
``next`` (garbage, a truncated or edited token, one made for other filters, one naming a row
that does not exist) is a ``400 invalid-query``, never an empty page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable

from deployer.domain.errors import Refused

_REFUSED = "next must be the token of a previous page, exactly as returned, with the same filters"


def token(after: str, scope: str) -> str:
    """The ``next`` token that continues after row ``after`` of the list ``scope`` names."""
    body = f"{after}|{_digest(scope)}"
    return base64.urlsafe_b64encode(f"{body}|{_digest(body)}".encode()).decode().rstrip("=")


def position(raw: str | None, scope: str, row: re.Pattern[str]) -> str | None:
    """The row a ``next`` token continues after (``None`` for the first page); refuses a token
    that was not made by :func:`token` for ``scope``, or whose row is not shaped like ``row``."""
    if raw is None:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise Refused("invalid-query", _REFUSED) from None
    parts = text.split("|")
    if len(parts) != 3 or parts[2] != _digest(f"{parts[0]}|{parts[1]}") or parts[1] != _digest(scope):
        raise Refused("invalid-query", _REFUSED)
    if not row.fullmatch(parts[0]):
        raise Refused("invalid-query", _REFUSED)
    return parts[0]


def require_row(after: str | None, exists: Callable[[str], bool]) -> None:
    """Refuse a token whose row is not in the store (a forged position)."""
    if after is not None and not exists(after):
        raise Refused("invalid-query", _REFUSED)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
