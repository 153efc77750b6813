"""The deployer's records and agent rows as Table entities, and back (``table_store.py``,
``table_agents.py``); where the rows live is in ``table_layout.py``."""

from __future__ import annotations

import json
from typing import Any

from deployer.adapters.table_layout import RECORDS, agent_row
from deployer.domain.approval import Approval
from deployer.domain.images import ImageCheck
from deployer.domain.model import TEXT_FIELDS, AgentState, Deployment, DeploymentError, Transition
from deployer.domain.roles import RoleGrant
from deployer.domain.rollout_state import CanaryState, Hold, SmokeResult, traffic_from_json

#: Stored as they are: the required text fields, the optional ones, and the scalars.
_PLAIN = (
    *("agent", "image", "status", "source", "created_at", "updated_at"),
    *TEXT_FIELDS,
    *("time_to_active_s", "expected_active_s", "rollout"),
)
_AGENT_PLAIN = (
    "active_id",
    "active_image",
    "active_digest",
    "active_tag",
    "high_tag",
    "paused_by",
    "paused_at",
    "canary_id",
    "awaiting_id",
)


def agent_entity(state: AgentState) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": RECORDS, "RowKey": agent_row(state.name)}
    entity.update({name: getattr(state, name) for name in _AGENT_PLAIN})
    entity["paused"] = state.paused
    entity["holds"] = json.dumps([hold.to_json() for hold in state.holds]) if state.holds else None
    entity["took_s"] = json.dumps(list(state.took_s)) if state.took_s else None
    return entity


def agent_from_entity(name: str, entity: Any) -> AgentState:
    holds = tuple(Hold.from_json(h) for h in json.loads(entity.get("holds") or "[]"))
    return AgentState(
        name=name,
        paused=bool(entity.get("paused") or False),
        holds=holds,
        took_s=tuple(float(s) for s in json.loads(entity.get("took_s") or "[]")),
        etag=entity.metadata["etag"],
        **{key: entity.get(key) for key in _AGENT_PLAIN},
    )


def to_entity(d: Deployment) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": RECORDS, "RowKey": d.id}
    entity.update({name: getattr(d, name) for name in _PLAIN if getattr(d, name) is not None})
    entity["error"] = json.dumps(d.error.to_json()) if d.error else None
    entity["history"] = json.dumps([t.to_json() for t in d.history])
    entity["pending_events"] = json.dumps(list(d.pending_events))
    entity["runtime_role"] = json.dumps(d.runtime_role.to_json()) if d.runtime_role else None
    if d.traffic_before is not None:
        entity["traffic_before"] = json.dumps([rule.to_json() for rule in d.traffic_before])
    if d.smoke is not None:
        entity["smoke"] = json.dumps(d.smoke.to_json())
    if d.canary is not None:
        entity["canary"] = json.dumps(d.canary.to_json())
    if d.approval is not None:
        entity["approval"] = json.dumps(d.approval.to_json())
    if d.image_check is not None:
        entity["image_check"] = json.dumps(d.image_check.to_json())
    return entity


def from_entity(entity: Any) -> Deployment:
    error = json.loads(entity["error"]) if entity.get("error") else None
    role = json.loads(entity["runtime_role"]) if entity.get("runtime_role") else None
    traffic = entity.get("traffic_before")
    smoke = entity.get("smoke")
    canary = entity.get("canary")
    approval = entity.get("approval")
    checked = entity.get("image_check")
    return Deployment(
        image_check=ImageCheck.from_json(json.loads(checked)) if checked else None,
        approval=Approval.from_json(json.loads(approval)) if approval else None,
        canary=CanaryState.from_json(json.loads(canary)) if canary else None,
        id=entity["RowKey"],
        traffic_before=traffic_from_json(json.loads(traffic)) if traffic else None,
        smoke=SmokeResult.from_json(json.loads(smoke)) if smoke else None,
        error=DeploymentError(**error) if error else None,
        history=tuple(Transition(**t) for t in json.loads(entity.get("history") or "[]")),
        pending_events=tuple(json.loads(entity.get("pending_events") or "[]")),
        runtime_role=RoleGrant.from_json(role) if role else None,
        etag=entity.metadata["etag"],
        **{name: entity.get(name) for name in _PLAIN},
    )
