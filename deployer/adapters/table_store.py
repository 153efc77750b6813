"""The deployment store on Azure Table Storage: one table, laid out in ``table_layout.py``
(records, idempotency keys, agent rows and open work in partition ``d``, the outbox in ``n``
and ``q``).

The open-work index is in ``table_open_work.py``, the entities of records and agent rows in
``table_rows.py``, the bulk deletes of history retention in ``table_forget.py``. Every change
is conditional: inserts fail if the row exists, replaces carry the ETag read. Rows that must
change together are written in one entity-group transaction, which the shared partition allows:
a push's keys, agent row, pending record and open-work row (:meth:`TableDeploymentStore.begin`),
a record and its next look (:meth:`TableDeploymentStore.update_and_schedule`), a deployment
taking over and the one it replaces retiring (:meth:`TableDeploymentStore.update_together`).
No reader sees one change without the others, and no crash leaves one without the others.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

from deployer.adapters.table_agents import TableKeysAndAgents, key_entity
from deployer.adapters.table_batches import Operation, each_together, row_refused, saving
from deployer.adapters.table_errors import (
    replace_if_unchanged,
    row_missing,
    translate_missing_table,
)
from deployer.adapters.table_forget import delete_groups
from deployer.adapters.table_layout import AGENT, KEY, KEY_END, RECORDS, RECORDS_BELOW, Migrated, key_row
from deployer.adapters.table_open_work import TableOpenWork, open_entity
from deployer.adapters.table_outbox import TableNotificationStore
from deployer.adapters.table_rows import agent_entity, from_entity, to_entity
from deployer.domain.errors import Conflict
from deployer.domain.model import AgentState, Deployment, Status, created_before
from deployer.domain.platform import Page, Scheduled

_T = TypeVar("_T", Deployment, AgentState, Scheduled)
_MATCH = MatchConditions.IfNotModified


@translate_missing_table
class TableDeploymentStore(TableKeysAndAgents, TableOpenWork, TableNotificationStore):
    """:class:`deployer.ports.DeploymentStore` over one Azure Table (keys and agent rows are in
    ``table_agents.py``, the open-work index in ``table_open_work.py``, the outbox in
    ``table_outbox.py``)."""

    def __init__(self, table: TableClient) -> None:
        self._table = table
        self._layout = Migrated(table)
        self._seen = {}
        #: Entities returned by queries and point reads, for cost accounting in tests and benchmarks.
        self.entities_read = 0

    def ping(self, timeout_s: float) -> None:
        # A one-entity page of the agent rows' range: cheap, and it needs the table to exist.
        pages = self._table.query_entities(
            "PartitionKey eq @pk and RowKey ge @first",
            parameters={"pk": RECORDS, "first": AGENT},
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

    def begin(
        self, record: Deployment, entry: Scheduled, *, claims: Mapping[str, str], agent: AgentState
    ) -> Deployment:
        self._layout.ensure()
        rows: list[Any] = [("create", key_entity(key, owner)) for key, owner in claims.items()]
        rows.append(saving(agent_entity(agent), agent.etag))
        rows += [("create", open_entity(entry)), ("create", to_entity(record))]
        metas = self._together(rows, record.id)
        self.saw_agent(_replace_etag(agent, metas[len(claims)]))
        return _replace_etag(record, metas[-1])

    def update_and_schedule(self, deployment: Deployment, entry: Scheduled) -> tuple[Deployment, Scheduled]:
        look = open_entity(entry)
        schedule = saving(look, entry.etag) if entry.etag else ("upsert", look, {"mode": UpdateMode.REPLACE})
        metas = self._together([schedule, saving(to_entity(deployment), deployment.etag)], deployment.id)
        return _replace_etag(deployment, metas[1]), _replace_etag(entry, metas[0])

    def update_and_schedule_each(self, looks: Sequence[tuple[Deployment | None, Scheduled]]) -> list[bool]:
        """ETag-conditional replaces, a look's record and entry always in the same transaction;
        the looks of a transaction that one changed row failed are written one by one, so
        exactly the unchanged rows are written."""

        def operations(look: tuple[Deployment | None, Scheduled]) -> list[Operation]:
            return [saving(entity, etag) for entity, etag in _look_rows(*look)]

        return each_together(
            self._table, looks, operations, written=lambda _look, _metas: True, alone=self._look_one
        )

    def _look_one(self, look: tuple[Deployment | None, Scheduled]) -> bool:
        record, entry = look
        try:
            if record is not None:
                self.update(record)
            self.schedule(entry)
        except Conflict:
            return False
        return True

    def _together(self, operations: list[Any], name: str) -> list[Any]:
        """One entity-group transaction; :class:`Conflict` if a row exists or changed."""
        try:
            return list(self._table.submit_transaction(operations))
        except TableTransactionError as exc:
            if not row_refused(exc):
                raise
            raise Conflict(name) from None

    def created_before(
        self, cutoff: float, *, statuses: Collection[Status] = (), limit: int
    ) -> list[Deployment]:
        # Ids are inverted times: the records created before the cutoff are the RowKeys after it
        # (and below the other rows' range).
        clauses = ["PartitionKey eq @pk", "RowKey gt @bound", "RowKey lt @below"]
        params = {"pk": RECORDS, "bound": created_before(cutoff), "below": RECORDS_BELOW}
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

    def owned_keys(self, owners: Collection[str]) -> dict[str, list[str]]:
        if not owners:
            return {}
        self._layout.ensure()
        query = (
            "PartitionKey eq @pk and RowKey ge @first and RowKey lt @end and owner ge @low and owner le @high"
        )
        params = {"pk": RECORDS, "first": KEY, "end": KEY_END, "low": min(owners), "high": max(owners)}
        found: dict[str, list[str]] = {}
        for entity in self._table.query_entities(query, parameters=params, select=["owner", "key"]):
            self.entities_read += 1
            if (owner := entity.get("owner")) in owners:
                found.setdefault(str(owner), []).append(str(entity["key"]))
        return found

    def forget(self, deployments: Sequence[Deployment], keys: Mapping[str, Sequence[str]]) -> list[str]:
        groups = [
            ((RECORDS, d.id, d.etag), *sorted({(RECORDS, key_row(key), None) for key in keys.get(d.id, ())}))
            for d in deployments
        ]
        return [group[0][1] for group in delete_groups(self._table, groups)]

    def list(
        self,
        *,
        agent: str | None = None,
        status: Status | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> Page:
        clauses = ["PartitionKey eq @pk", "RowKey lt @below"]
        params = {"pk": RECORDS, "below": RECORDS_BELOW}
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


def _look_rows(record: Deployment | None, entry: Scheduled) -> list[tuple[dict[str, Any], str | None]]:
    assert entry.etag is not None, "a look's entry replaces its lease"
    rows = [] if record is None else [(to_entity(record), record.etag)]
    return [*rows, (open_entity(entry), entry.etag)]


def _replace_etag(value: _T, meta: Any) -> _T:
    return replace(value, etag=meta["etag"])
