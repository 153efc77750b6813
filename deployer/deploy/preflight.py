"""Preflight: before ``create_version``, what would make the version fail and can be known in
advance: the model deployments and connections the agent needs exist in the project. A missing
one fails the deployment (``preflight_failed``, naming it) and no version is created.
"""

from __future__ import annotations

from deployer.context import Context
from deployer.domain.agents import AgentConfig
from deployer.domain.model import DeploymentError

FAILED_CODE = "preflight_failed"
MODEL_VARIABLE = "MODEL_DEPLOYMENT_NAME"


def model_deployments(agent: AgentConfig) -> tuple[str, ...]:
    """The model deployments to check: the configured list, else the one ``MODEL_DEPLOYMENT_NAME``
    names. Pure."""
    if agent.preflight is None:
        return ()
    if agent.preflight.model_deployments is not None:
        return agent.preflight.model_deployments
    name = agent.environment_variables.get(MODEL_VARIABLE, "").strip()
    return (name,) if name else ()


def check(ctx: Context, agent: AgentConfig, endpoint: str) -> DeploymentError | None:
    """What is missing from the project, as the deployment's error; ``None`` when all is there.
    Platform errors other than "not found" propagate (retryable ones are retried)."""
    if agent.preflight is None:
        return None
    missing = [
        f"model deployment '{name}'"
        for name in model_deployments(agent)
        if not ctx.platform.has_model_deployment(endpoint, name)
    ]
    missing += [
        f"connection '{name}'"
        for name in agent.preflight.connections
        if not ctx.platform.has_connection(endpoint, name)
    ]
    if not missing:
        return None
    return DeploymentError(
        code=FAILED_CODE,
        message=f"the project at {endpoint} has no {', no '.join(missing)}; no version was created",
        hint=(
            "Create what is missing in the Foundry project (Models + endpoints, Connected resources), "
            f"or correct {MODEL_VARIABLE} / the agent's preflight in deployer.yaml; then push again."
        ),
    )
