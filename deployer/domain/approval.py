"""Approvals: a deployment (or a canary step) that waits for a person before anything is created
or moved. Pure: the policy an agent's configuration sets, the request kept on the record, who may
decide it, and when it expires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from deployer.domain.clock import iso

Decision = Literal["approved", "rejected", "expired"]
#: Why a deployment ended ``rejected`` (its ``reason``): a person said no, or nobody said yes in time.
REJECTED_REASON = "approval_rejected"
EXPIRED_REASON = "approval_expired"
DEFAULT_EXPIRY_S = 86_400.0
#: The longest reason a person may give with a rejection.
MAX_COMMENT = 500


@dataclass(frozen=True, kw_only=True)
class ApprovalPolicy:
    """``approval`` in ``deployer.yaml``: deployments wait for a person. ``approvers``: principal
    names or app roles that may decide (empty: anyone the write routes accept)."""

    approvers: tuple[str, ...] = ()
    expires_after_s: float = DEFAULT_EXPIRY_S


@dataclass(frozen=True, kw_only=True)
class Caller:
    """Who asks to decide, as the write routes see them: ``signed_in`` when App Service
    Authentication vouches for ``name`` and ``roles``; ``may_write`` when the write rule accepts them."""

    name: str
    roles: frozenset[str] = frozenset()
    signed_in: bool = False
    may_write: bool = True


def may_decide(approvers: tuple[str, ...], caller: Caller) -> bool:
    """Whether ``caller`` may approve or reject. Without a signed-in identity the function key is
    the only gate (there is no name to match); with one, a listed principal name or app role, or,
    when none is listed, the write role."""
    if not caller.signed_in:
        return True
    if not approvers:
        return caller.may_write
    listed = {a.casefold() for a in approvers}
    return caller.name.casefold() in listed or any(r.casefold() in listed for r in caller.roles)


@dataclass(frozen=True, kw_only=True)
class Approval:
    """The approval a deployment waits for (or waited for): when it expires, who may decide (as
    configured when it was requested), and the decision once made: by whom, when, and why."""

    expires_at: float
    approvers: tuple[str, ...] = ()
    #: A canary step's approval: the index of the step it lets through (``None``: the deployment's).
    step: int | None = None
    decision: Decision | None = None
    by: str | None = None
    at: str | None = None
    comment: str | None = None

    @classmethod
    def request(cls, policy: ApprovalPolicy, *, now: float, step: int | None = None) -> Approval:
        return cls(expires_at=now + policy.expires_after_s, approvers=policy.approvers, step=step)

    @property
    def waiting(self) -> bool:
        return self.decision is None

    def expired(self, now: float) -> bool:
        return self.waiting and now >= self.expires_at

    def decided(self, decision: Decision, *, by: str | None, at: str, comment: str | None = None) -> Approval:
        return Approval(
            expires_at=self.expires_at,
            approvers=self.approvers,
            step=self.step,
            decision=decision,
            by=by,
            at=at,
            comment=comment[:MAX_COMMENT] if comment else None,
        )

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "expires_at": self.expires_at,
            "approvers": list(self.approvers),
            "step": self.step,
            "decision": self.decision,
            "by": self.by,
            "at": self.at,
            "comment": self.comment,
        }

    def document(self) -> dict[str, Any]:
        """The ``approval`` of the deployment document: ``expires_at`` as ISO 8601 (UTC)."""
        return {**self.to_json(), "expires_at": iso(self.expires_at)}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Approval:
        return cls(
            expires_at=float(raw["expires_at"]),
            approvers=tuple(raw.get("approvers") or ()),
            step=raw.get("step"),
            decision=raw.get("decision"),
            by=raw.get("by"),
            at=raw.get("at"),
            comment=raw.get("comment"),
        )


def decision_note(decision: Decision, by: str | None, comment: str | None) -> str:
    """The history note of a decision."""
    if decision == "expired":
        return "nobody approved it before the request expired"
    said = f"{decision} by {by or 'a person'}"
    return f"{said}: {comment}" if comment else said
