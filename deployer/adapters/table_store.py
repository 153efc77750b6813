"""The deployment store on Azure Table Storage.

One table, six partitions, each made for the query that reads it:

| PartitionKey | RowKey | holds | read by |
|---|---|---|---|
| ``d`` | deployment id (inverted time: newest first) | the deployment record | point reads, the list API |
| ``o`` | deployment id | open work: ``due`` (epoch s), ``attempt`` | the poll: ``due le now`` |
| ``k`` | sha256 of the idempotency key | the deployment id that owns it | insert-if-absent (the lock) |
| ``a`` | agent name | the agent's active deployment, highest started tag, pause and holds | point reads |
| ``n`` / ``q`` | notification entry id | outbox entries / their delivery queue | ``notify/table_outbox.py`` |

The open-work index is in ``table_open_work.py``, the entities of records and agent rows in
``table_rows.py``, the bulk deletes of history retention in ``table_forget.py``. Every change
is conditional: inserts fail if the row exists, replaces carry the ETag read. Two records that
must change together (a deployment taking over, the one it replaces retiring) are replaced in
one entity-group transaction (:meth:`TableDeploymentStore.update_together`): both are in
partition ``d``, so no reader sees one change without the other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from contextlib import suppress
from dataclasses import replace
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

from deployer.adapters.table_errors import replace_if_unchanged, row_missing, translate_missing_table
from deployer.adapters.table_forget import delete_rows
from deployer.adapters.table_open_work import TableOpenWork
from deployer.adapters.table_outbox import TableNotificationStore
from deployer.adapters.table_rows import (
    AGENTS,
    RECORDS,
    agent_entity,
    agent_from_entity,
    from_entity,
    to_entity,
)
from deployer.domain.errors import Conflict
from deployer.domain.model import (
    AgentState,
    Deployment,
    Status,
    created_before,
)
from deployer.domain.platform import Page, Scheduled

_T = TypeVar("_T", Deployment, AgentState, Scheduled)
KEYS = "k"
_MATCH = MatchConditions.IfNotModified


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
            meta = self._table.create_entity(to_entity(deployment))
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
        return from_entity(entity)

    def update(self, deployment: Deployment) -> Deployment:
        return replace(
            deployment, etag=replace_if_unchanged(self._table, to_entity(deployment), deployment.etag)
        )

    def update_together(self, deployments: Sequence[Deployment]) -> list[Deployment]:
        operations = [
            ("update", to_entity(d), {"mode": UpdateMode.REPLACE, "etag": d.etag, "match_condition": _MATCH})
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
        return agent_from_entity(name, entity)

    def save_agent(self, state: AgentState) -> AgentState:
        entity = agent_entity(state)
        if state.etag is None:
            try:
                meta = self._table.create_entity(entity)
            except ResourceExistsError:
                raise Conflict(state.name) from None
            return _replace_etag(state, meta)
        return replace(state, etag=replace_if_unchanged(self._table, entity, state.etag))

    def created_before(
        self, cutoff: float, *, statuses: Collection[Status] = (), limit: int
    ) -> list[Deployment]:
        # Ids are inverted times: the records created before the cutoff are the RowKeys after it.
        clauses, params = (
            ["PartitionKey eq @pk", "RowKey gt @bound"],
            {"pk": RECORDS, "bound": created_before(cutoff)},
        )
        names = [f"status eq @s{i}" for i in range(len(statuses))]
        params.update({f"s{i}": status for i, status in enumerate(statuses)})
        if names:
            clauses.append(f"( {' or '.join(names)} )")  # the SDK finds @names between spaces
        found: list[Deployment] = []
        for entity in self._table.query_entities(
            " and ".join(clauses), parameters=params, results_per_page=limit
        ):
            self.entities_read += 1
            found.append(from_entity(entity))
            if len(found) >= limit:
                break
        return found

    def owned_keys(self, owners: Collection[str]) -> list[str]:
        if not owners:
            return []
        query = "PartitionKey eq @pk and owner ge @low and owner le @high"
        params = {"pk": KEYS, "low": min(owners), "high": max(owners)}
        found = []
        for entity in self._table.query_entities(query, parameters=params, select=["owner", "key"]):
            self.entities_read += 1
            if entity.get("owner") in owners:
                found.append(str(entity["key"]))
        return found

    def forget_keys(self, keys: Sequence[str]) -> int:
        rows = sorted({(KEYS, hashlib.sha256(key.encode()).hexdigest(), None) for key in keys})
        return len(delete_rows(self._table, rows))

    def forget(self, deployments: Sequence[Deployment]) -> list[str]:
        deleted = delete_rows(self._table, [(RECORDS, d.id, d.etag) for d in deployments])
        return [row for _, row, _ in deleted]

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
            items.append(from_entity(entity))
            if len(items) > limit:
                break
        more = len(items) > limit
        return Page(items=items[:limit], next=items[limit - 1].id if more else None)


def _replace_etag(value: _T, meta: Any) -> _T:
    return replace(value, etag=meta["etag"])
