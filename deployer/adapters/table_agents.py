"""Idempotency keys and agent rows on Azure Table Storage, in the deployer's table (mixed into
``TableDeploymentStore``): the ``k|`` and ``a|`` rows of partition ``d`` (``table_layout.py``).
A key is inserted if absent (the lock); an agent row is inserted, or replaced with its ETag.
Each agent row read or written here is remembered with its ETag (``last_seen_agent``): a push
checks its rules against it without a read, and its write, conditional on that ETag, fails if
the row changed since (another process wrote it)."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient

from deployer.adapters.table_errors import replace_if_unchanged, row_missing, translate_missing_table
from deployer.adapters.table_layout import RECORDS, Migrated, agent_row, key_row
from deployer.adapters.table_rows import agent_entity, agent_from_entity
from deployer.domain.errors import Conflict
from deployer.domain.model import AgentState


@translate_missing_table
class TableKeysAndAgents:
    """``claim``, ``claimed``, ``release``, ``get_agent`` and ``save_agent`` of ``DeploymentStore``."""

    _table: TableClient
    _layout: Migrated
    entities_read: int
    #: Each agent row as last read or written here, with its ETag (``last_seen_agent``).
    _seen: dict[str, AgentState]

    def claim(self, key: str, owner: str) -> str:
        self._layout.ensure()
        try:
            self._table.create_entity(key_entity(key, owner))
            return owner
        except ResourceExistsError:
            entity = self._table.get_entity(RECORDS, key_row(key))
            self.entities_read += 1
            return str(entity["owner"])

    def claimed(self, key: str) -> str | None:
        self._layout.ensure()
        try:
            entity = self._table.get_entity(RECORDS, key_row(key))
        except ResourceNotFoundError as exc:
            row_missing(exc)
            return None
        self.entities_read += 1
        return str(entity["owner"])

    def release(self, key: str, owner: str) -> None:
        row = key_row(key)
        try:
            entity = self._table.get_entity(RECORDS, row)
        except ResourceNotFoundError as exc:
            row_missing(exc)
            return
        if entity["owner"] != owner:
            return
        with suppress(ResourceModifiedError):  # changed since read: no longer ours to delete
            self._table.delete_entity(
                RECORDS, row, etag=entity.metadata["etag"], match_condition=MatchConditions.IfNotModified
            )

    def get_agent(self, name: str) -> AgentState:
        self._layout.ensure()
        try:
            entity = self._table.get_entity(RECORDS, agent_row(name))
        except ResourceNotFoundError as exc:
            row_missing(exc)
            return self.saw_agent(AgentState(name=name))
        self.entities_read += 1
        return self.saw_agent(agent_from_entity(name, entity))

    def last_seen_agent(self, name: str) -> AgentState:
        seen = self._seen.get(name)
        return seen if seen is not None else self.get_agent(name)

    def save_agent(self, state: AgentState) -> AgentState:
        entity = agent_entity(state)
        if state.etag is None:
            try:
                meta = self._table.create_entity(entity)
            except ResourceExistsError:
                raise Conflict(state.name) from None
            return self.saw_agent(replace(state, etag=meta["etag"]))
        return self.saw_agent(replace(state, etag=replace_if_unchanged(self._table, entity, state.etag)))

    def saw_agent(self, state: AgentState) -> AgentState:
        """Remember ``state`` (just read or written, with its ETag) as the agent's row."""
        self._seen[state.name] = state
        return state


def key_entity(key: str, owner: str) -> dict[str, Any]:
    return {"PartitionKey": RECORDS, "RowKey": key_row(key), "owner": owner, "key": key[:1000]}
