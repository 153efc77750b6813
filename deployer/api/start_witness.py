"""The store as :func:`deployer.deploying.start_deployment` sees it during a manual request.

``start_deployment`` makes the deployment id itself and writes the record in one go. A manual
request needs two things from that moment: the id as soon as it exists (to record it under the
request's Idempotency-Key before Foundry is called, and to find the ``pending`` record if Foundry
does not answer), and the request's ``reason`` on the record's first write (one write, no race
with the poll). This wrapper sees both and passes every other call through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast

from deployer.model import Deployment
from deployer.ports import DeploymentStore, Scheduled


class StartWitness:
    """Wraps a store: notes the first deployment scheduled (``start_deployment`` schedules it
    before it writes the record) and stamps ``reason`` on that record's first write."""

    def __init__(
        self, store: DeploymentStore, *, reason: str | None, on_started: Callable[[str], None] | None
    ) -> None:
        self._store = store
        self._reason = reason
        self._on_started = on_started
        self.deployment_id: str | None = None

    def as_store(self) -> DeploymentStore:
        """This wrapper, typed as the port it stands in for (the rest is delegated below)."""
        return cast(DeploymentStore, self)

    def schedule(self, entry: Scheduled) -> Scheduled:
        if self.deployment_id is None:
            self.deployment_id = entry.deployment_id
            if self._on_started is not None:
                self._on_started(entry.deployment_id)
        return self._store.schedule(entry)

    def add(self, deployment: Deployment) -> Deployment:
        if self._reason and deployment.id == self.deployment_id and deployment.reason is None:
            deployment = replace(deployment, reason=self._reason)
        return self._store.add(deployment)

    def __getattr__(self, name: str) -> Any:
        # Every other method of the port, including ones added later, goes to the store as is.
        return getattr(self._store, name)
