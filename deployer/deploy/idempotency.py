"""``Idempotency-Key`` on POST: the same key and body give the first answer, another body a 409.

Two rows in the store's key partition, both insert-if-absent: the *lock* (key -> digest of the
body and a token naming the request that took it) and the *result* (key -> the deployment the
request started, written as soon as its id exists, before Foundry is called). A request whose
lock is taken but whose deployment is not yet recorded is still running: 409. A request that
fails before it records a deployment (Foundry unavailable, a lost race: 503, 409 ``busy``)
releases both rows, so a retry with the same key starts the work; only a process that dies in
that window leaves the key held (answer: a new key).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from deployer.domain.errors import Refused
from deployer.domain.model import Deployment
from deployer.ports import DeploymentStore


@dataclass(frozen=True, kw_only=True)
class IdempotencyKey:
    """A client's key, scoped to the route and caller that sent it, and the body it came with."""

    scope: str
    key: str
    body_sha256: str

    @property
    def lock(self) -> str:
        return f"idem|{self.scope}|{self.key}"

    @property
    def result(self) -> str:
        return f"idem-result|{self.scope}|{self.key}"


def earlier(store: DeploymentStore, key: IdempotencyKey) -> Deployment | None:
    """The deployment an earlier request with this key started, or ``None`` if there was none.
    Raises a 409 problem for another body, or while the earlier request has not started yet."""
    owner = store.claimed(key.lock)
    if owner is None:
        return None
    if owner.split("|", 1)[0] != key.body_sha256:
        raise Refused(
            "idempotency-key-reused",
            "this Idempotency-Key was sent before with another body: use a new key for a new request",
        )
    deployment_id = store.claimed(key.result)
    found = store.get(deployment_id) if deployment_id else None
    if found is None:
        raise Refused(
            "request-in-progress",
            "the first request with this Idempotency-Key has not started a deployment yet: retry in a "
            "few seconds; if it still has not after a minute, it failed: send it with a new key",
        )
    return found


def take(store: DeploymentStore, key: IdempotencyKey) -> str | None:
    """Take the key for this request: the token naming it as the holder, ``None`` if another
    request took it first."""
    mine = f"{key.body_sha256}|{secrets.token_hex(8)}"
    return mine if store.claim(key.lock, mine) == mine else None


def remember(store: DeploymentStore, key: IdempotencyKey, deployment_id: str) -> None:
    """Record the deployment the request that holds ``key`` started."""
    store.claim(key.result, deployment_id)


def release(store: DeploymentStore, key: IdempotencyKey, token: str, deployment_id: str | None) -> None:
    """Give the key back after a request that recorded nothing: the result row first (so no
    reader sees a result without its lock), then the lock, each only if still this request's."""
    if deployment_id is not None:
        store.release(key.result, deployment_id)
    store.release(key.lock, token)
