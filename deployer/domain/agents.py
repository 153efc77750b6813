"""The agents the deployer manages, as ``deployer.yaml`` configures them (``deployer.config`` reads
the file into these values): each agent's rule, resources, rollout, smoke test, preflight, canary
steps and promotion, and the whole configuration."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

from deployer.domain.approval import ApprovalPolicy
from deployer.domain.errors import Refused
from deployer.domain.model import Strategy
from deployer.domain.platform import AgentProtocol
from deployer.domain.subscribers import EventGridTopic, Subscriber, Webhook
from deployer.domain.tag_policy import TagPolicy

AGENT_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
PROTOCOLS: frozenset[str] = frozenset(get_args(AgentProtocol))
OnSmokeFailure = Literal["rollback", "no_hold"]
ON_SMOKE_FAILURE: tuple[str, ...] = get_args(OnSmokeFailure)


@dataclass(frozen=True, kw_only=True)
class CanarySettings:
    """The steps of a canary rollout (percentages, the last is 100), the time between them, and
    how many failed smoke re-runs abort it."""

    steps: tuple[int, ...] = (10, 50, 100)
    step_interval_s: float = 300.0
    smoke_failures: int = 1
    #: Indexes of the steps that wait for a person's approval before they are taken
    #: (``steps: [10, {approve: true}, 100]``: step 1, the 100%).
    gates: frozenset[int] = frozenset()


@dataclass(frozen=True, kw_only=True)
class PromoteTo:
    """Where a verified image goes next: another configured agent, optionally in another project."""

    agent: str
    project_endpoint: str | None = None
    #: Promotions to the target wait for this approval (``None``: the target agent's own, if any).
    approval: ApprovalPolicy | None = None


@dataclass(frozen=True, kw_only=True)
class Expect:
    """What a passing reply looks like: its HTTP ``status`` and at most one content check.
    ``json_path`` (``$.a.b[0]``) must resolve; with ``equals_json`` it must equal that JSON value."""

    status: int = 200
    contains: str | None = None
    regex: str | None = None
    json_path: str | None = None
    equals_json: str | None = None


@dataclass(frozen=True, kw_only=True)
class SmokeTest:
    """One request to the new version and what its reply must show. ``input`` is the Responses
    input text, or the Invocations request body as JSON text."""

    protocol: AgentProtocol
    input: str
    expect: Expect
    timeout_s: float = 30.0
    attempts: int = 3


@dataclass(frozen=True, kw_only=True)
class Preflight:
    """What must exist in the project before a version is created: model deployments (``None``:
    the one ``MODEL_DEPLOYMENT_NAME`` names, if any) and connections."""

    model_deployments: tuple[str, ...] | None = None
    connections: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AgentConfig:
    """One hosted agent the deployer manages, and the rule that feeds it."""

    name: str
    repository: str
    tags: TagPolicy
    cpu: str = "1"
    memory: str = "2Gi"
    protocols: Mapping[str, str] = field(default_factory=lambda: {"responses": "1.0.0"})
    environment_variables: Mapping[str, str] = field(default_factory=dict)
    registry: str | None = None
    keep_versions: int = 5
    #: Retention deletes a version busy with sessions with ``force`` once it has been busy this
    #: long (``None``: never; it waits until the sessions end).
    retention_force_after_s: float | None = None
    project_endpoint: str | None = None
    pin: Literal["tag", "digest"] = "tag"
    timeout_s: float = 900.0
    #: Give the identity of each new version Azure AI User on the project (``project_resource_id``).
    grant_runtime_role: bool = True
    project_resource_id: str | None = None
    #: ``verified``: traffic stays on the serving version until the new one passes ``smoke_test``.
    rollout: Strategy = "immediate"
    smoke_test: SmokeTest | None = None
    #: ``rollback``: a failed smoke test also holds the digest; ``no_hold``: it does not.
    on_smoke_failure: OnSmokeFailure = "rollback"
    #: What must exist in the project before a version is created (``None``: no preflight).
    preflight: Preflight | None = None
    #: ``rollout: {strategy: canary, ...}``: the steps traffic moves through after the smoke test.
    canary: CanarySettings | None = None
    #: Where a verified image is deployed next (another agent, maybe in another project).
    promote_to: PromoteTo | None = None
    #: Look the image up in its registry before creating a version: a missing image, or a
    #: multi-arch index without linux/amd64, fails the deployment with no version created.
    registry_check: bool = True
    #: Deployments wait in ``awaiting_approval`` for a person before anything is created.
    approval: ApprovalPolicy | None = None

    def matches_repository(self, registry: str, repository: str) -> bool:
        return self.repository == repository and self.registry in (None, registry)


@dataclass(frozen=True, kw_only=True)
class DeployerConfig:
    """The whole configuration: the registry allow-list and the agents."""

    registries: tuple[str, ...]
    agents: tuple[AgentConfig, ...]
    webhooks: tuple[Webhook, ...] = ()
    event_grid_topic: EventGridTopic | None = None

    @property
    def subscribers(self) -> tuple[Subscriber, ...]:
        """Everyone notified of transitions: the webhooks, then the Event Grid topic."""
        return (*self.webhooks, *((self.event_grid_topic,) if self.event_grid_topic else ()))

    def agent(self, name: str) -> AgentConfig | None:
        return next((a for a in self.agents if a.name == name), None)

    def configured(self, name: str) -> AgentConfig:
        """The agent named ``name``; :class:`Refused` (``unknown-agent``) if none is configured."""
        agent = self.agent(name)
        if agent is None:
            configured = ", ".join(a.name for a in self.agents)
            raise Refused("unknown-agent", f"no agent {name!r} is configured (configured: {configured})")
        return agent

    def subscriber(self, key: str) -> Subscriber | None:
        """The subscriber with ``key``, if it is still configured."""
        return next((s for s in self.subscribers if s.key == key), None)

    def allows_registry(self, registry: str) -> bool:
        return registry.lower() in self.registries
