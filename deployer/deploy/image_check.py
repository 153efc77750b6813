"""The image check: before ``create_version``, the deployment's image is looked up in its
registry (``registry_check``, on by default). A missing image fails the deployment at once
(``image_not_found``), as does a multi-arch index without linux/amd64 (``no_amd64_image``): no
version is created. Otherwise the digest the reference resolved to is recorded (a request that
named a tag learns its digest, so holds, rollbacks and promotions know the image) and, with
``pin: digest``, the version is created by that digest.

A registry that fails or cannot be reached raises :class:`deployer.domain.errors.PlatformError`: the
deployment stays ``pending`` and is retried like any platform error, never deployed unchecked.

A push begins the lookup (:func:`begin`) before it writes its pending record, on a worker
thread, so the lookup and that write overlap; the result is used where it always was, after
the write and before ``create_version``.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

from deployer.context import Context
from deployer.domain.agents import AgentConfig
from deployer.domain.clock import iso
from deployer.domain.images import AMD64, NO_AMD64, NOT_FOUND, ImageCheck, ImageFacts, judge
from deployer.domain.model import Deployment, DeploymentError

#: The history entry of the check.
CHECKED = "image_checked"
#: Lookups begun ahead of their use; a few at once, as pushes arrive.
_AHEAD = ThreadPoolExecutor(max_workers=4, thread_name_prefix="image-lookup")

Lookup = Future[ImageFacts | None]


def begin(ctx: Context, agent: AgentConfig, record: Deployment) -> Lookup | None:
    """The registry lookup :func:`check` makes for ``record``, begun now on a worker thread
    (``None`` when the agent's ``registry_check`` is off). Read-only: one that is not used
    (the write it overlapped found a redelivery) changes nothing."""
    if not agent.registry_check or ctx.registry is None:
        return None
    return _AHEAD.submit(ctx.registry.inspect, *_where(record))


def check(
    ctx: Context, agent: AgentConfig, record: Deployment, *, begun: Lookup | None = None
) -> tuple[Deployment, DeploymentError | None]:
    """``record`` with the check's field and history entry (not yet written), and why it must
    fail (``None``: go on). Unchanged when the agent's ``registry_check`` is off. ``begun``:
    the lookup :func:`begin` started for this record (its error, if any, is raised here)."""
    if not agent.registry_check or ctx.registry is None:
        return record, None
    registry, repository, reference = _where(record)
    facts = begun.result() if begun is not None else ctx.registry.inspect(registry, repository, reference)
    at = iso(ctx.clock.now())
    result = judge(facts, reference=reference, at=at)
    checked = record.noted(CHECKED, at, note=result.note, image_check=result)
    if result.digest is not None:
        by_digest = f"{registry}/{repository}@{result.digest}"
        checked = replace(
            checked, digest=result.digest, image=by_digest if agent.pin == "digest" else checked.image
        )
    return checked, refusal(result, image=record.image, registry=registry)


def _where(record: Deployment) -> tuple[str, str, str]:
    """The registry, repository and reference (digest, else tag) the record's image is looked up by."""
    return record.registry or "", record.repository or "", record.digest or record.tag or ""


def refusal(result: ImageCheck, *, image: str, registry: str) -> DeploymentError | None:
    """Why the deployment fails without a version, or ``None`` when the image may be deployed."""
    if result.result == NOT_FOUND:
        return DeploymentError(
            code=NOT_FOUND,
            message=f"image {image} is not in registry {registry}; no version was created",
            hint="Push the image (or correct the repository or tag), then deploy again.",
        )
    if result.result == NO_AMD64:
        return DeploymentError(
            code=NO_AMD64,
            message=(
                f"image {image} is built for {', '.join(result.platforms)} without {AMD64}, the "
                "platform hosted agents run on; no version was created"
            ),
            hint=f"Build and push the image for {AMD64} too (docker buildx build --platform {AMD64},...).",
        )
    return None
