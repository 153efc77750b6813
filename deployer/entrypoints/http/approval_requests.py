"""``POST /api/deployments/{id}/approve`` and ``/reject``: the caller as the write routes see it
(:mod:`auth`), and the rejection's body read once, or refused having written nothing
(:mod:`deployer.deploy.approval_decisions` does the rest)."""

from __future__ import annotations

from deployer.domain.approval import Caller
from deployer.domain.errors import Refused
from deployer.entrypoints.http.auth import FUNCTION_KEY_CALLER, required_principal
from deployer.entrypoints.http.requests import MAX_REASON, JsonBody


def approver(header: str | None, *, role: str, auth_enabled: bool) -> Caller:
    """Who decides: without App Service Authentication, the function key (the route's only gate);
    with it, the signed-in principal (401 without one), its app roles, and whether it holds the
    write role (what decides when the approval lists no approvers)."""
    if not auth_enabled:
        return Caller(name=FUNCTION_KEY_CALLER)
    principal = required_principal(header)
    return Caller(
        name=principal.name, roles=principal.roles, signed_in=True, may_write=role in principal.roles
    )


def parse_reject(body: JsonBody) -> str:
    """The reason of a rejection (required: it is what the history and the notification say)."""
    doc = body.document
    unknown = [name for name in doc if name != "reason"]
    reason = doc.get("reason")
    errors = [{"field": str(n)[:80], "message": "unknown field (known fields: reason)"} for n in unknown]
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        errors.append({"field": "reason", "message": f"required: why, at most {MAX_REASON} characters"})
    if errors:
        raise Refused(
            "invalid-body", "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors
        )
    assert isinstance(reason, str)
    return reason.strip()
