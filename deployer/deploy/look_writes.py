"""The writes that end a look at a still-creating version: its record, when the look changed it
(a runtime-role grant), and its next look on the open-work entry, conditional on the record's
ETag and on the lease's. A tick gathers them across its deployments and writes them together
(``DeploymentStore.update_and_schedule_each``, up to 100 rows per entity-group transaction) once
they fill one: a few round trips instead of two per deployment.

A deployment whose record changed meanwhile keeps that change, and its entry is handed back for
a look shortly; one whose lease was taken writes nothing. Until its writes land, a look is as
if not made: a crash before then leaves the lease to expire and the deployment to be looked at
again (a grant made again is answered as already present)."""

from __future__ import annotations

import logging
import threading
from contextlib import suppress
from dataclasses import dataclass, replace

from deployer.context import Context
from deployer.domain.errors import Conflict
from deployer.domain.model import Deployment
from deployer.domain.platform import Scheduled

log = logging.getLogger(__name__)
#: Rows gathered before they are written: one entity-group transaction's worth (a smaller
#: batch measured slower in ``bench poll_cost``).
FULL_ROWS = 100
#: Seconds before a deployment changed by another worker during a look is looked at again.
RETRY_SOON_S = 1.0


@dataclass(frozen=True)
class _Ending:
    record: Deployment | None
    entry: Scheduled
    lease: Scheduled
    now: float

    @property
    def rows(self) -> int:
        return 1 if self.record is None else 2


class LookWrites:
    """Gathers the endings of a tick's looks (from its worker threads) and writes them as soon as
    they fill a transaction; :meth:`flush` writes the rest."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._lock = threading.Lock()
        self._waiting: list[_Ending] = []

    def add(self, record: Deployment | None, entry: Scheduled, *, lease: Scheduled, now: float) -> None:
        """End a look: write ``record`` (unless ``None``) and ``entry``, which replaces ``lease``."""
        with self._lock:
            self._waiting.append(_Ending(record, entry, lease, now))
            if sum(e.rows for e in self._waiting) + 2 <= FULL_ROWS:
                return  # room for one more deployment's rows
            batch, self._waiting = self._waiting, []
        self._write(batch)

    def flush(self) -> None:
        with self._lock:
            batch, self._waiting = self._waiting, []
        if batch:
            self._write(batch)

    def _write(self, batch: list[_Ending]) -> None:
        written = self._ctx.store.update_and_schedule_each([(e.record, e.entry) for e in batch])
        for ending, ok in zip(batch, written, strict=True):
            if not ok and ending.record is not None:
                log.info("deployment %s: changed by another worker; looking again shortly", ending.record.id)
                release(self._ctx, ending.lease, ending.now + RETRY_SOON_S)


def release(ctx: Context, lease: Scheduled, due: float) -> None:
    """Hand a leased entry back for a look at ``due`` (nothing if another worker took it)."""
    with suppress(Conflict):
        ctx.store.schedule(replace(lease, due=due, attempt=lease.attempt + 1))
