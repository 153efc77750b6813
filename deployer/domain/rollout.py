"""Decisions of verified rollouts, rollbacks by traffic, holds and pauses. Pure: no I/O, no
Azure imports.

Traffic is an agent's version selector: fixed-ratio rules naming versions. A version that no
rule names gets no traffic, so pinning 100% to the serving version before ``create_version``
keeps the new version dark until the deployer moves traffic to it. A rule may name ``@latest``
(a new agent's endpoint starts with ``@latest`` at 100%): the newest version that is not a draft,
which a new version becomes as soon as it exists. Wherever the deployer needs a fixed routing it
resolves ``@latest`` to the version it names now (:func:`resolve`) and writes numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from deployer.domain.agents import AgentConfig
from deployer.domain.model import AgentState, Deployment
from deployer.domain.platform import VersionInfo, version_number
from deployer.domain.rollout_state import Hold, Traffic, TrafficRule, traffic_of

Promotion = Literal["move", "done", "leave"]
#: The selector's name for the newest version that is not a draft.
LATEST = "@latest"
_GONE = frozenset({"deleting", "deleted"})
#: What an endpoint without ``protocol_configuration`` serves.
DEFAULT_PROTOCOLS = frozenset({"responses"})


@dataclass(frozen=True, kw_only=True)
class Pin:
    """The selector to keep while a new version comes up, and whether it must be written."""

    traffic: Traffic
    write: bool


def all_to(version: str) -> Traffic:
    """100% of the traffic to ``version``."""
    return (TrafficRule(version=version, percentage=100),)


def sole_version(traffic: Traffic) -> str | None:
    """The version that takes all the traffic, if one does."""
    live = [rule for rule in traffic if rule.percentage > 0]
    return live[0].version if len(live) == 1 else None


def pin(current: Traffic, versions: Sequence[VersionInfo], *, exclude_owner: str, owner_key: str) -> Pin:
    """Before a version is created: keep a selector of version numbers that is already there (it
    names only existing versions, so the new one gets nothing); one naming ``@latest`` would hand
    the new version the traffic as soon as it exists, so it is rewritten with the version
    ``@latest`` names now. Without a selector, the platform routes to the newest active version,
    so pin 100% to it. Never a version this deployment made (found by its ``owner_key``
    metadata); when nothing serves, nothing is pinned."""
    if current:
        fixed = resolve(current, versions, exclude_owner=exclude_owner, owner_key=owner_key)
        return Pin(traffic=fixed or (), write=fixed is not None and fixed != current)
    serving = newest_active(versions, exclude_owner=exclude_owner, owner_key=owner_key)
    if serving is None:
        return Pin(traffic=(), write=False)
    return Pin(traffic=all_to(serving.version), write=True)


def names_latest(traffic: Traffic) -> bool:
    """Whether a rule of the selector names ``@latest``."""
    return any(rule.version == LATEST for rule in traffic)


def latest(
    versions: Sequence[VersionInfo], *, exclude_owner: str | None = None, owner_key: str = ""
) -> VersionInfo | None:
    """The version ``@latest`` names: the newest one that is neither a draft nor being deleted
    (with ``exclude_owner``: leaving out the versions that deployment made)."""
    named = [
        v
        for v in versions
        if not v.draft and v.status not in _GONE and not _owned(v, exclude_owner, owner_key)
    ]
    return max(named, key=_age, default=None)


def resolve(
    traffic: Traffic,
    versions: Sequence[VersionInfo],
    *,
    exclude_owner: str | None = None,
    owner_key: str = "",
) -> Traffic | None:
    """``traffic`` with ``@latest`` replaced by the version it names (:func:`latest`), the rules
    of one version merged; unchanged when no rule names ``@latest``; ``None`` when ``@latest``
    names no version (only drafts, or none)."""
    if not names_latest(traffic):
        return traffic
    named = latest(versions, exclude_owner=exclude_owner, owner_key=owner_key)
    if named is None:
        return None
    shares: dict[str, int] = {}
    for rule in traffic:
        version = named.version if rule.version == LATEST else rule.version
        shares[version] = shares.get(version, 0) + rule.percentage
    return traffic_of(shares.items())


def newest_active(
    versions: Sequence[VersionInfo], *, exclude_owner: str | None = None, owner_key: str = ""
) -> VersionInfo | None:
    """The active version the platform routes to without a selector: the newest one."""
    active = [v for v in versions if v.status == "active" and not _owned(v, exclude_owner, owner_key)]
    return max(active, key=_age, default=None)


def _owned(version: VersionInfo, owner: str | None, owner_key: str) -> bool:
    return owner is not None and version.metadata.get(owner_key) == owner


def _age(version: VersionInfo) -> tuple[int, float]:
    return version_number(version.version), version.created_at or 0.0


def promotion(current: Traffic, *, version: str, before: Traffic | None) -> Promotion:
    """After the smoke test passed: ``done`` if ``version`` already has all the traffic;
    ``move`` if the selector is as pinned, absent, or gives all to an older version (an earlier
    rollout moved it on); ``leave`` when someone else set it otherwise (a split, or a newer
    version), so the deployer never undoes a person's routing."""
    if current == all_to(version):
        return "done"
    if not current or (before is not None and current == before):
        return "move"
    sole = sole_version(current)
    if sole is not None and version_number(sole) < version_number(version):
        return "move"
    return "leave"


def immediate_needs_move(current: Traffic, *, version: str) -> bool:
    """``rollout: immediate``: a selector that does not give all to the new active version would
    keep it dark (a silent no-op), so it is set to 100% on it; without a selector, or with the
    platform's ``@latest`` at 100%, the platform already routes to the newest version."""
    return bool(current) and current not in (all_to(version), all_to(LATEST))


def protocols_to_serve(served: frozenset[str] | None, declared: Iterable[str]) -> frozenset[str] | None:
    """The protocols the agent's endpoint must serve so that ``declared`` ones answer, keeping
    those it ``served`` (``None``: unset, which serves responses only); ``None`` when nothing is
    missing."""
    current = DEFAULT_PROTOCOLS if served is None else served
    wanted = current | frozenset(declared)
    return None if wanted == current else wanted


def hand_back(current: Traffic, *, ours: str, active_version: str | None) -> Traffic | None:
    """A deployment found superseded after it moved traffic to its own version: the traffic goes
    to the agent's active version (a race of two rollouts converges on the newer one)."""
    if active_version and active_version != ours and current == all_to(ours):
        return all_to(active_version)
    return None


def push_blocked(state: AgentState, digest: str | None) -> str | None:
    """Why a push may not deploy to the agent: ``paused``, ``held`` (its digest), or ``None``."""
    if state.paused:
        return "paused"
    if digest and any(hold.digest == digest for hold in state.holds):
        return "held"
    return None


def deployment_blocked(state: AgentState, d: Deployment) -> str | None:
    """Why ``d``, not started yet, may not start now: what :func:`push_blocked` says of its digest
    when nobody asked for it (a push, or a promotion after ``verified``: no ``requested_by``). A
    person's request (a manual deploy, a rollback, a promotion asked for) deploys regardless."""
    unasked = d.source == "event" or (d.source == "promotion" and d.requested_by is None)
    return push_blocked(state, d.digest) if unasked else None


def with_hold(state: AgentState, hold: Hold) -> AgentState | None:
    """The agent's row with ``hold`` added, or ``None`` if the digest is held already."""
    if any(h.digest == hold.digest for h in state.holds):
        return None
    return replace(state, holds=(*state.holds, hold))


def without_hold(state: AgentState, digest: str) -> AgentState | None:
    """The agent's row with the hold on ``digest`` released, or ``None`` if there was none."""
    kept = tuple(h for h in state.holds if h.digest != digest)
    return None if len(kept) == len(state.holds) else replace(state, holds=kept)


def promotion_due(agent: AgentConfig, d: Deployment) -> bool:
    """Whether ``d``, settled, must still be promoted to the agent its ``promote_to`` names: the
    settle step leaves its open work for the poll, which starts the promotion and then ends it."""
    return agent.promote_to is not None and d.status == "verified" and d.promoted_to is None
