"""The image check: before ``create_version``, the deployment's image is looked up in its
registry (``registry_check``, on by default). A missing image fails the deployment at once
(``image_not_found``), as does a multi-arch index without linux/amd64 (``no_amd64_image``): no
version is created. Otherwise the digest the reference resolved to is recorded (a request that
named a tag learns its digest, so holds, rollbacks and promotions know the image) and, with
``pin: digest``, the version is created by that digest.

A registry that fails or cannot be reached raises :class:`deployer.domain.errors.PlatformError`: the
deployment stays ``pending`` and is retried like any platform error, never deployed unchecked.
"""

from __future__ import annotations

from dataclasses import replace

from deployer.context import Context
from deployer.domain.agents import AgentConfig
from deployer.domain.clock import iso
from deployer.domain.images import AMD64, NO_AMD64, NOT_FOUND, ImageCheck, judge
from deployer.domain.model import Deployment, DeploymentError

#: The history entry of the check.
CHECKED = "image_checked"


def check(ctx: Context, agent: AgentConfig, record: Deployment) -> tuple[Deployment, DeploymentError | None]:
    """``record`` with the check's field and history entry (not yet written), and why it must
    fail (``None``: go on). Unchanged when the agent's ``registry_check`` is off."""
    if not agent.registry_check or ctx.registry is None:
        return record, None
    registry, repository = record.registry or "", record.repository or ""
    reference = record.digest or record.tag or ""
    facts = ctx.registry.inspect(registry, repository, reference)
    at = iso(ctx.clock.now())
    result = judge(facts, reference=reference, at=at)
    checked = record.noted(CHECKED, at, note=result.note, image_check=result)
    if result.digest is not None:
        by_digest = f"{registry}/{repository}@{result.digest}"
        checked = replace(
            checked, digest=result.digest, image=by_digest if agent.pin == "digest" else checked.image
        )
    return checked, refusal(result, image=record.image, registry=registry)


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
