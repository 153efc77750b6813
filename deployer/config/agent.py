"""One entry of ``agents`` in ``deployer.yaml``, as a pydantic model, and the domain value it becomes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, cast

from pydantic import BeforeValidator, Field, model_validator

from deployer.config import checks
from deployer.config.checks import Problem
from deployer.config.document import (
    AGENT_NAME_SCHEMA,
    PROTOCOL_NAMES,
    Approval,
    ApprovalField,
    Flag,
    Model,
    PreflightField,
    PromoteTo,
    Rollout,
    RolloutSettings,
    SmokeTest,
    _choice,
    _mapping,
    _schema,
)
from deployer.domain import agents
from deployer.domain.approval import ApprovalPolicy
from deployer.domain.model import Strategy
from deployer.domain.roles import AZURE_AI_USER, HOW_TO_FIND_PROJECT_RESOURCE_ID
from deployer.domain.tag_policy import TagPolicy

_STRING = _schema({"type": "string"})


def _registry(value: object) -> str:
    return checks.text(value).lower()


def _endpoint(value: object) -> str:
    return checks.https(checks.text(value))


class Agent(Model):
    """A hosted agent the deployer manages, and the rule that feeds it."""

    REQUIRED = ("name", "repository")
    name: Annotated[Any, BeforeValidator(checks.agent_name), _schema(AGENT_NAME_SCHEMA)] = Field(
        default=None, validate_default=True
    )
    repository: Annotated[Any, BeforeValidator(checks.repository), _STRING] = Field(
        default=None, validate_default=True
    )
    registry: Annotated[Any, BeforeValidator(_registry), _STRING] = None
    tags: Annotated[
        Any,
        BeforeValidator(checks.tags),
        _schema({"type": "string"}, "a glob, semver:<range> or regex:<pattern>"),
    ] = "*"
    allow_latest: Flag = False
    cpu: Annotated[Any, BeforeValidator(checks.cpu), _schema({"type": ["string", "number"]})] = "1"
    memory: Annotated[Any, BeforeValidator(checks.memory), _STRING] = "2Gi"
    protocols: Annotated[
        Any,
        BeforeValidator(checks.protocols),
        _schema(
            {
                "type": "object",
                "propertyNames": {"enum": PROTOCOL_NAMES},
                "additionalProperties": {"type": "string"},
            }
        ),
    ] = Field(default_factory=lambda: {"responses": "1.0.0"})
    environment_variables: Annotated[
        Any,
        BeforeValidator(checks.environment),
        _schema({"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}),
    ] = Field(default_factory=dict)
    keep_versions: Annotated[
        Any, BeforeValidator(checks.keep), _schema({"type": "integer", "minimum": 1})
    ] = 5
    retention_force_after_s: Annotated[
        Any, BeforeValidator(checks.force_after), _schema({"type": ["number", "null"], "minimum": 0})
    ] = None
    project_endpoint: Annotated[
        Any, BeforeValidator(_endpoint), _schema({"type": "string", "pattern": "^https://"})
    ] = None
    pin: Annotated[
        Any,
        BeforeValidator(_choice("tag", "digest", message="must be 'tag' or 'digest'")),
        _schema({"enum": ["tag", "digest"]}),
    ] = "tag"
    timeout_s: Annotated[
        Any, BeforeValidator(checks.timeout), _schema({"type": "number", "exclusiveMinimum": 0})
    ] = 900.0
    rollout: Rollout | None = None
    smoke_test: Annotated[SmokeTest, _mapping("must be a mapping with protocol, input and expect")] | None = (
        None
    )
    on_smoke_failure: Annotated[
        Any,
        BeforeValidator(_choice("rollback", "no_hold", message="must be 'rollback' or 'no_hold'")),
        _schema({"enum": ["rollback", "no_hold"]}),
    ] = "rollback"
    preflight: PreflightField | None = None
    promote_to: (
        Annotated[PromoteTo, _mapping("must be a mapping with agent (and project_endpoint)")] | None
    ) = None
    approval: ApprovalField | None = None
    grant_runtime_role: Flag = True
    project_resource_id: Annotated[Any, BeforeValidator(checks.project_resource_id), _STRING] = None
    #: Look the image up in its registry before a version is created (the image check).
    registry_check: Flag = True

    @model_validator(mode="after")
    def _together(self) -> Agent:
        found = [*self._rollout_problems(), *self._role_problems()]
        if found:
            raise Problem(*found)
        return self

    @property
    def strategy(self) -> Strategy:
        rollout = (
            self.rollout if self.rollout is not None else ("verified" if self.smoke_test else "immediate")
        )
        name = rollout.strategy if isinstance(rollout, RolloutSettings) else rollout
        return cast(Strategy, name)

    def _rollout_problems(self) -> list[tuple[str, str]]:
        strategy, tested = self.strategy, self.smoke_test is not None
        if strategy in ("verified", "canary") and not tested:
            return [("rollout", f"{strategy!r} needs a smoke_test to verify the new version with")]
        if strategy == "immediate" and tested:
            return [("smoke_test", "only run with rollout: verified (rollout is 'immediate')")]
        if self.smoke_test is not None and self.protocols and self.smoke_test.protocol not in self.protocols:
            return [
                (
                    "smoke_test.protocol",
                    f"the agent does not declare the '{self.smoke_test.protocol}' protocol",
                )
            ]
        return []

    def _role_problems(self) -> list[tuple[str, str]]:
        if self.project_resource_id is None and self.grant_runtime_role:
            return [
                (
                    "project_resource_id",
                    f"required while grant_runtime_role is on (the default), so that the agent's identity "
                    f"can be given {AZURE_AI_USER}; set it at the top level or per agent (or set "
                    f"grant_runtime_role: false). It is {HOW_TO_FIND_PROJECT_RESOURCE_ID}",
                )
            ]
        return []

    def value(self) -> agents.AgentConfig:
        """The agent as the services see it."""
        tested = self.strategy in ("verified", "canary")
        preflight = self.preflight if self.preflight is not None else tested
        return agents.AgentConfig(
            name=self.name,
            repository=self.repository,
            tags=TagPolicy.parse(self.tags, allow_latest=self.allow_latest),
            cpu=self.cpu,
            memory=self.memory,
            protocols=self.protocols,
            environment_variables=self.environment_variables,
            registry=self.registry,
            keep_versions=self.keep_versions,
            retention_force_after_s=self.retention_force_after_s,
            project_endpoint=self.project_endpoint,
            pin=self.pin,
            timeout_s=self.timeout_s,
            grant_runtime_role=self.grant_runtime_role,
            project_resource_id=self.project_resource_id,
            registry_check=self.registry_check,
            rollout=self.strategy,
            smoke_test=_smoke_test(self.smoke_test),
            on_smoke_failure=self.on_smoke_failure,
            preflight=_preflight(preflight),
            canary=_canary(self.rollout),
            promote_to=_promote_to(self.promote_to),
            approval=approval_policy(self.approval),
        )


def _smoke_test(test: SmokeTest | None) -> agents.SmokeTest | None:
    if test is None:
        return None
    e = test.expect
    expect = agents.Expect(
        status=e.status,
        contains=e.contains,
        regex=e.regex,
        json_path=e.json_path,
        equals_json=json.dumps(e.equals, sort_keys=True) if "equals" in e.model_fields_set else None,
    )
    text = json.dumps(test.input, sort_keys=True) if isinstance(test.input, Mapping) else test.input
    return agents.SmokeTest(
        protocol=test.protocol, input=text, expect=expect, timeout_s=test.timeout_s, attempts=test.attempts
    )


def _preflight(preflight: Any) -> agents.Preflight | None:
    if isinstance(preflight, bool):
        return agents.Preflight() if preflight else None
    deployments = preflight.model_deployments if "model_deployments" in preflight.model_fields_set else None
    return agents.Preflight(model_deployments=deployments, connections=preflight.connections or ())


def _canary(rollout: object) -> agents.CanarySettings | None:
    if not isinstance(rollout, RolloutSettings) or rollout.strategy != "canary":
        return None
    percentages: list[int] = []
    gates: set[int] = set()
    for item in rollout.steps:
        if item == checks.APPROVE_STEP:
            gates.add(len(percentages))  # the step that follows waits for approval
        else:
            percentages.append(item)
    return agents.CanarySettings(
        steps=tuple(percentages),
        step_interval_s=rollout.step_interval_s,
        smoke_failures=rollout.abort_if.smoke_failures,
        gates=frozenset(gates),
    )


def _promote_to(promote_to: PromoteTo | None) -> agents.PromoteTo | None:
    if promote_to is None:
        return None
    return agents.PromoteTo(
        agent=promote_to.agent,
        project_endpoint=promote_to.project_endpoint,
        approval=approval_policy(promote_to.approval),
    )


def approval_policy(approval: Approval | None) -> ApprovalPolicy | None:
    """The policy ``approval`` sets (``None``: none, or ``required: false``)."""
    if approval is None or not approval.required:
        return None
    return ApprovalPolicy(approvers=approval.approvers or (), expires_after_s=approval.expires_after_s)
