"""Who is calling, where the app runs behind App Service Authentication (Easy Auth).

Easy Auth puts the signed-in caller in ``x-ms-client-principal`` (base64 JSON: ``auth_typ``,
``claims: [{typ, val}]``, ``name_typ``, ``role_typ``) and strips the header from outside
requests; App Service sets ``WEBSITE_AUTH_ENABLED=True`` when it is on. Only then is the header
trusted: without Easy Auth it is whatever the caller sent, so it is ignored and the caller is
recorded as :data:`FUNCTION_KEY_CALLER`. With Easy Auth a write needs a principal (Easy Auth may be
set to let anonymous requests through) holding the write role in its ``roles`` claims; the
principal's own ``role_typ`` is not used, since it could name any claim.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deployer.domain.errors import Refused

PRINCIPAL_HEADER = "x-ms-client-principal"
#: Who is recorded as ``requested_by`` / ``paused_by`` where App Service Authentication is off.
FUNCTION_KEY_CALLER = "function key"
_ROLE_CLAIM = "roles"
_NAME_CLAIMS = ("preferred_username", "name", "upn", "email", "appid", "azp", "oid")


@dataclass(frozen=True, kw_only=True)
class Principal:
    """The caller as Easy Auth describes it."""

    name: str
    roles: frozenset[str]


def principal_from(header: str | None) -> Principal | None:
    """The caller in an ``x-ms-client-principal`` header, or ``None`` when there is none."""
    if header is None:
        return None
    try:
        document = json.loads(base64.b64decode(header, validate=False))
        claims = [(str(c["typ"]), str(c["val"])) for c in document.get("claims") or []]
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError):
        raise Refused("unauthenticated", f"the {PRINCIPAL_HEADER} header cannot be read") from None
    roles = frozenset(value for kind, value in claims if kind == _ROLE_CLAIM)
    return Principal(name=_name(document, claims), roles=roles)


def authorize_write(header: str | None, *, role: str, auth_enabled: bool) -> str:
    """The caller to record as ``requested_by``. Behind App Service Authentication
    (``auth_enabled``) it refuses a request without a principal, or whose principal lacks ``role``
    (the ``DEPLOYER_WRITE_ROLE`` app setting, ``Settings.write_role``)."""
    if not auth_enabled:
        return FUNCTION_KEY_CALLER
    principal = required_principal(header)
    if role not in principal.roles:
        raise Refused(
            "forbidden",
            f"{principal.name} does not have the app role {role!r}: assign it to the user, group or "
            "service principal in the app's Enterprise application (Users and groups)",
            required_role=role,
        )
    return principal.name


def required_principal(header: str | None) -> Principal:
    """The signed-in caller behind App Service Authentication; ``unauthenticated`` without one."""
    principal = principal_from(header)
    if principal is None:
        raise Refused(
            "unauthenticated",
            "sign in: App Service Authentication is on, and this request carries no signed-in caller",
        )
    return principal


def _name(document: Mapping[str, Any], claims: list[tuple[str, str]]) -> str:
    by_type = dict(claims)
    for kind in (str(document.get("name_typ") or ""), *_NAME_CLAIMS):
        if by_type.get(kind):
            return by_type[kind][:200]
    return "unknown caller"


def may_write(header: str | None, *, role: str, auth_enabled: bool) -> bool:
    """Whether the write routes accept this caller (:func:`authorize_write` would not refuse)."""
    try:
        authorize_write(header, role=role, auth_enabled=auth_enabled)
    except Refused:
        return False
    return True


def signed_in(header: str | None, *, auth_enabled: bool) -> Principal | None:
    """The signed-in caller, trusted only behind App Service Authentication."""
    return principal_from(header) if auth_enabled else None
