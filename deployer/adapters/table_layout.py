"""Where each kind of row lives in the deployer's table, and the move from the first layout.

Records, idempotency keys, agent rows and open-work rows share partition ``d``, so the rows a
push writes (its keys, the agent row, the pending record and its open-work row) commit as one
entity-group transaction: one round trip, and no reader or crash sees some without the others.
Each kind keeps its own RowKey range, so each query still reads only its kind:

| RowKey | holds | read by |
|---|---|---|
| deployment id (digits, newest first) | the deployment record | point reads, the list (``RowKey lt 'a'``) |
| ``a|`` agent name | the agent's active deployment, highest started tag, pause and holds | point reads |
| ``k|`` sha256 of the idempotency key | the deployment id that owns it | insert-if-absent (the lock) |
| ``o|`` deployment id | open work: ``due`` (epoch s), ``attempt`` | the poll: ``o|`` rows, ``due le now`` |

The outbox keeps its partitions ``n`` and ``q`` (``table_outbox.py``). One partition's
throughput target (about 2,000 entities per second) bounds the writes of pushes and looks
together; a push writes five rows and a look one.

The first layout kept keys, agent rows and open work in partitions ``k``, ``a`` and ``o``
(RowKey without the prefix). :func:`migrate` moves them: each row is inserted at its new place
unless a row is there already (the new one wins), then deleted from the old partition if it has
not changed since it was read. The store runs it once per process before its first use of those
rows; after the move it costs three empty queries per process.
"""

from __future__ import annotations

import hashlib
import threading
from contextlib import suppress

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient

RECORDS = "d"
AGENT, KEY, OPEN = "a|", "k|", "o|"
#: Every record's RowKey (a deployment id) starts with a digit, every other row's with a letter.
RECORDS_BELOW = "a"
#: The upper bounds of the ``k|`` and ``o|`` ranges (``}`` follows ``|``).
KEY_END, OPEN_END = "k}", "o}"
_FIRST_LAYOUT = {"k": KEY, "a": AGENT, "o": OPEN}


def key_row(key: str) -> str:
    return KEY + hashlib.sha256(key.encode()).hexdigest()


def agent_row(name: str) -> str:
    return AGENT + name


def open_row(deployment_id: str) -> str:
    return OPEN + deployment_id


def migrate(table: TableClient) -> int:
    """Move the first layout's rows into partition ``d``; how many were moved."""
    moved = 0
    for partition, prefix in _FIRST_LAYOUT.items():
        for entity in table.query_entities("PartitionKey eq @pk", parameters={"pk": partition}):
            row = dict(entity)
            row.update(PartitionKey=RECORDS, RowKey=prefix + entity["RowKey"])
            with suppress(ResourceExistsError):
                table.create_entity(row)
            with suppress(ResourceModifiedError, ResourceNotFoundError):  # changed: moved next time
                table.delete_entity(
                    partition,
                    entity["RowKey"],
                    etag=entity.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
            moved += 1
    return moved


class Migrated:
    """Runs :func:`migrate` once per process (per table client), before the first use."""

    def __init__(self, table: TableClient) -> None:
        self._table = table
        self._done = False
        self._lock = threading.Lock()

    def ensure(self) -> None:
        if self._done:
            return
        with self._lock:
            if not self._done:
                migrate(self._table)
                self._done = True
