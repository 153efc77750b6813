"""Who is calling, where the app runs behind App Service Authentication (Easy Auth).

Easy Auth puts the signed-in caller in ``x-ms-client-principal`` (base64 JSON: ``auth_typ``,
``claims: [{typ, val}]``, ``name_typ``, ``role_typ``) and strips the header from outside
requests, so its presence can be trusted. Without it (function keys only) there is no caller to
check or record.
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
_ROLE_CLAIMS = ("roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")
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
    role_types = {str(document.get("role_typ") or ""), *_ROLE_CLAIMS}
    roles = frozenset(value for kind, value in claims if kind in role_types)
    return Principal(name=_name(document, claims), roles=roles)


def authorize_write(principal: Principal | None, role: str) -> str | None:
    """The caller to record as ``requested_by``; refuses a principal without ``role`` (the
    ``DEPLOYER_WRITE_ROLE`` app setting, ``Settings.write_role``)."""
    if principal is None:
        return None
    if role not in principal.roles:
        raise Refused(
            "forbidden",
            f"{principal.name} does not have the app role {role!r}: assign it to the user, group or "
            "service principal in the app's Enterprise application (Users and groups)",
            required_role=role,
        )
    return principal.name


def _name(document: Mapping[str, Any], claims: list[tuple[str, str]]) -> str:
    by_type = dict(claims)
    for kind in (str(document.get("name_typ") or ""), *_NAME_CLAIMS):
        if by_type.get(kind):
            return by_type[kind][:200]
    return "unknown caller"
