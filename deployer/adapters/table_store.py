"""The deployment store on Azure Table Storage.

One table, six partitions, each made for the query that reads it:

| PartitionKey | RowKey | holds | read by |
|---|---|---|---|
| ``d`` | deployment id (inverted time: newest first) | the deployment record | point reads, the list API |
| ``o`` | deployment id | open work: ``due`` (epoch s), ``attempt`` | the poll: ``due le now`` |
| ``k`` | sha256 of the idempotency key | the deployment id that owns it | insert-if-absent (the lock) |
| ``a`` | agent name | the agent's active deployment, highest started tag, pause and holds | point reads |
| ``n`` / ``q`` | notification entry id | outbox entries / their delivery queue | ``notify/table_outbox.py`` |

The open-work index is in ``table_open_work.py``. Every change is conditional: inserts fail if
the row exists, replaces carry the ETag read. Two records that must change together (a
deployment taking over, the one it replaces retiring) are replaced in one entity-group
transaction (:meth:`TableDeploymentStore.update_together`): both are in partition ``d``, so no
reader sees one change without the other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import replace
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

from deployer.adapters.table_errors import replace_if_unchanged, row_missing, translate_missing_table
from deployer.adapters.table_open_work import TableOpenWork
from deployer.adapters.table_outbox import TableNotificationStore
from deployer.domain.approval import Approval
from deployer.domain.errors import Conflict
from deployer.domain.images import ImageCheck
from deployer.domain.model import AgentState, Deployment, DeploymentError, Status, Transition
from deployer.domain.platform import Page, Scheduled
from deployer.domain.roles import RoleGrant
from deployer.domain.rollout_state import CanaryState, Hold, SmokeResult, traffic_from_json

_T = TypeVar("_T", Deployment, AgentState, Scheduled)
RECORDS, KEYS, AGENTS = "d", "k", "a"
_MATCH = MatchConditions.IfNotModified
_PLAIN = (
    "agent",
    "image",
    "status",
    "source",
    "created_at",
    "updated_at",
    "registry",
    "repository",
    "tag",
    "digest",
    "event_id",
    "reason",
    "version",
    "project_endpoint",
    "requested_by",
    "time_to_active_s",
    "version_deleted_at",
    "version_delete_refused_at",
    "version_delete_next_at",
    "reconcile_after",
    "rollout",
    "promoted_to",
    "promoted_from",
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


@translate_missing_table
class TableDeploymentStore(TableOpenWork, TableNotificationStore):
    """:class:`deployer.ports.DeploymentStore` over one Azure Table (the open-work index ``o`` is
    in ``table_open_work.py``, the outbox's partitions ``n`` and ``q`` in ``table_outbox.py``)."""

    def __init__(self, table: TableClient) -> None:
        self._table = table
        #: Entities returned by queries and point reads, for cost accounting in tests and benchmarks.
        self.entities_read = 0

    def claim(self, key: str, owner: str) -> str:
        row = hashlib.sha256(key.encode()).hexdigest()
        try:
            self._table.create_entity(
                {"PartitionKey": KEYS, "RowKey": row, "owner": owner, "key": key[:1000]}
            )
            return owner
        except ResourceExistsError:
            entity = self._table.get_entity(KEYS, row)
            self.entities_read += 1
            return str(entity["owner"])

    def claimed(self, key: str) -> str | None:
        try:
            entity = self._table.get_entity(KEYS, hashlib.sha256(key.encode()).hexdigest())
        except ResourceNotFoundError as exc:
            row_missing(exc)
            return None
        self.entities_read += 1
        return str(entity["owner"])

    def release(self, key: str, owner: str) -> None:
        row = hashlib.sha256(key.encode()).hexdigest()
        try:
            entity = self._table.get_entity(KEYS, row)
        except ResourceNotFoundError as exc:
            row_missing(exc)
            return
        if entity["owner"] != owner:
            return
        with suppress(ResourceModifiedError):  # changed since read: no longer ours to delete
            self._table.delete_entity(
                KEYS, row, etag=entity.metadata["etag"], match_condition=MatchConditions.IfNotModified
            )

    def ping(self, timeout_s: float) -> None:
        # A one-entity page of the small agents partition: cheap, and it needs the table to exist.
        pages = self._table.query_entities(
            "PartitionKey eq @pk",
            parameters={"pk": AGENTS},
            results_per_page=1,
            select=["RowKey"],
            retry_total=0,
            connection_timeout=timeout_s,
            read_timeout=timeout_s,
        ).by_page()
        next(pages, None)

    def add(self, deployment: Deployment) -> Deployment:
        try:
            meta = self._table.create_entity(_to_entity(deployment))
        except ResourceExistsError:
            raise Conflict(deployment.id) from None
        return _replace_etag(deployment, meta)

    def get(self, deployment_id: str) -> Deployment | None:
        try:
            entity = self._table.get_entity(RECORDS, deployment_id)
        except ResourceNotFoundError as exc:
            row_missing(exc)
            return None
        self.entities_read += 1
        return _from_entity(entity)

    def update(self, deployment: Deployment) -> Deployment:
        return replace(
            deployment, etag=replace_if_unchanged(self._table, _to_entity(deployment), deployment.etag)
        )

    def update_together(self, deployments: Sequence[Deployment]) -> list[Deployment]:
        operations = [
            ("update", _to_entity(d), {"mode": UpdateMode.REPLACE, "etag": d.etag, "match_condition": _MATCH})
            for d in deployments
        ]
        try:
            metas = self._table.submit_transaction(operations)
        except TableTransactionError as exc:
            if exc.status_code in (404, 409, 412):
                raise Conflict(", ".join(d.id for d in deployments)) from None
            raise
        return [_replace_etag(d, meta) for d, meta in zip(deployments, metas, strict=True)]

    def get_agent(self, name: str) -> AgentState:
        try:
            entity = self._table.get_entity(AGENTS, name)
        except ResourceNotFoundError as exc:
            row_missing(exc)
            return AgentState(name=name)
        self.entities_read += 1
        return _agent_from_entity(name, entity)

    def save_agent(self, state: AgentState) -> AgentState:
        entity = _agent_entity(state)
        if state.etag is None:
            try:
                meta = self._table.create_entity(entity)
            except ResourceExistsError:
                raise Conflict(state.name) from None
            return _replace_etag(state, meta)
        return replace(state, etag=replace_if_unchanged(self._table, entity, state.etag))

    def list(
        self,
        *,
        agent: str | None = None,
        status: Status | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> Page:
        clauses, params = ["PartitionKey eq @pk"], {"pk": RECORDS}
        for name, value in (("agent", agent), ("status", status)):
            if value is not None:
                clauses.append(f"{name} eq @{name}")
                params[name] = value
        if after:
            clauses.append("RowKey gt @after")
            params["after"] = after
        # One row more than the page: a next page exists only if that row does.
        query = " and ".join(clauses)
        pager = self._table.query_entities(query, parameters=params, results_per_page=limit + 1)
        items: list[Deployment] = []
        for entity in pager:
            self.entities_read += 1
            items.append(_from_entity(entity))
            if len(items) > limit:
                break
        more = len(items) > limit
        return Page(items=items[:limit], next=items[limit - 1].id if more else None)


def _agent_entity(state: AgentState) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": AGENTS, "RowKey": state.name}
    entity.update({name: getattr(state, name) for name in _AGENT_PLAIN})
    entity["paused"] = state.paused
    entity["holds"] = json.dumps([hold.to_json() for hold in state.holds]) if state.holds else None
    return entity


def _agent_from_entity(name: str, entity: Any) -> AgentState:
    holds = tuple(Hold.from_json(h) for h in json.loads(entity.get("holds") or "[]"))
    return AgentState(
        name=name,
        paused=bool(entity.get("paused") or False),
        holds=holds,
        etag=entity.metadata["etag"],
        **{key: entity.get(key) for key in _AGENT_PLAIN},
    )


def _to_entity(d: Deployment) -> dict[str, Any]:
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
    if d.image_check is not None:
        entity["image_check"] = json.dumps(d.image_check.to_json())
    if d.approval is not None:
        entity["approval"] = json.dumps(d.approval.to_json())
    return entity


def _from_entity(entity: Any) -> Deployment:
    error = json.loads(entity["error"]) if entity.get("error") else None
    role = json.loads(entity["runtime_role"]) if entity.get("runtime_role") else None
    traffic = entity.get("traffic_before")
    smoke = entity.get("smoke")
    canary = entity.get("canary")
    checked = entity.get("image_check")
    approval = entity.get("approval")
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


def _replace_etag(value: _T, meta: Any) -> _T:
    return replace(value, etag=meta["etag"])
