"""``deployer.yaml`` as pydantic models: the one description of the file, from which it is validated
(``deployer.config.parser``) and its JSON Schema exported (``agent-deployer config schema``).

Each field is checked by a function of ``deployer.config.checks``, which says what is wrong;
unknown keys are refused. Checks across the fields of one mapping run once its fields are valid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from deployer.config import checks, receiver_checks
from deployer.config.checks import Problem, fail
from deployer.domain.agents import AGENT_NAME, PROTOCOLS
from deployer.domain.model import STRATEGIES
from deployer.domain.subscribers import FORMATS, NOTIFIED_TYPES


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)
    #: The keys the file must set (checked with their own messages; listed in the JSON Schema).
    REQUIRED: ClassVar[tuple[str, ...]] = ()


def _schema(schema: dict[str, Any], description: str | None = None) -> WithJsonSchema:
    return WithJsonSchema({**schema, **({"description": description} if description else {})})


def _mapping(message: str) -> BeforeValidator:
    """A nested mapping, refused with ``message`` when it is anything else."""

    def check(value: object) -> object:
        if not isinstance(value, Mapping):
            raise fail(message)
        return value

    return BeforeValidator(check)


def _choice(*allowed: str, message: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if value not in allowed:
            raise fail(message + checks.did_you_mean(value, allowed))
        return str(value)

    return check


Flag = Annotated[Any, BeforeValidator(checks.flag), _schema({"type": "boolean"})]
Names = Annotated[Any, BeforeValidator(checks.names), _schema({"type": "array", "items": {"type": "string"}})]
Https = Annotated[Any, BeforeValidator(checks.https), _schema({"type": "string", "pattern": "^https://"})]
NonEmpty = Annotated[Any, BeforeValidator(checks.nonempty), _schema({"type": "string", "minLength": 1})]


class Expect(Model):
    """What a passing reply looks like: its HTTP status and at most one content check."""

    status: Annotated[Any, BeforeValidator(checks.status), _schema({"type": "integer"})] = 200
    contains: NonEmpty = None
    regex: Annotated[Any, BeforeValidator(checks.regex), _schema({"type": "string", "format": "regex"})] = (
        None
    )
    json_path: Annotated[Any, BeforeValidator(checks.json_path), _schema({"type": "string"})] = None
    equals: Annotated[Any, _schema({}, "with json_path: the JSON value it must equal")] = None

    @model_validator(mode="after")
    def _one_check(self) -> Expect:
        named = [key for key in ("contains", "regex", "json_path") if key in self.model_fields_set]
        if len(named) > 1:
            raise fail("name at most one of contains, regex, json_path")
        if "equals" in self.model_fields_set and "json_path" not in self.model_fields_set:
            raise fail("only used with json_path", "equals")
        return self


class SmokeTest(Model):
    """One request to the new version, and what its reply must show."""

    REQUIRED = ("input",)
    protocol: Annotated[
        Any,
        BeforeValidator(_choice("responses", "invocations", message="must be 'responses' or 'invocations'")),
        _schema({"enum": ["responses", "invocations"]}),
    ] = "responses"
    input: Annotated[Any, _schema({}, "responses: the input text; invocations: the request body")] = Field(
        default=None, validate_default=True
    )
    expect: Annotated[Expect, _mapping("must be a mapping, e.g. {status: 200, contains: READY}")] = Expect()
    timeout_s: Annotated[Any, BeforeValidator(checks.smoke_timeout), _schema({"type": "number"})] = 30.0
    attempts: Annotated[Any, BeforeValidator(checks.attempts), _schema({"type": "integer"})] = 3

    @field_validator("input", mode="before")
    @classmethod
    def _input(cls, value: object, info: ValidationInfo) -> object:
        if info.data.get("protocol") == "invocations":
            if not isinstance(value, Mapping):
                raise fail("the invocations protocol needs a JSON object (the request body)")
            return value
        if not isinstance(value, str) or not value.strip():
            raise fail("the responses protocol needs a non-empty text")
        return value


class Preflight(Model):
    """What must exist in the project before a version is created."""

    model_deployments: Names = None
    connections: Names = None


_APPROVE_STEP = {
    "type": "object",
    "properties": {"approve": {"const": True}},
    "required": ["approve"],
    "additionalProperties": False,
}


class Approval(Model):
    """``approval``: deployments wait for a person's approval before anything is created."""

    required: Flag = True
    approvers: Annotated[
        Any,
        BeforeValidator(checks.names),
        _schema(
            {"type": "array", "items": {"type": "string"}},
            "principal names or app roles that may decide (App Service Authentication); "
            "default: anyone the write routes accept",
        ),
    ] = None
    expires_after_s: Annotated[
        Any, BeforeValidator(checks.timeout), _schema({"type": "number", "exclusiveMinimum": 0})
    ] = 86_400.0


ApprovalField = Annotated[Approval, _mapping("must be a mapping, e.g. {required: true, approvers: [...]}")]


class AbortIf(Model):
    smoke_failures: Annotated[Any, BeforeValidator(checks.smoke_failures), _schema({"type": "integer"})] = 1


class RolloutSettings(Model):
    """``rollout`` as a mapping: the strategy and, for ``canary``, its steps."""

    strategy: Annotated[
        Any,
        BeforeValidator(_choice(*STRATEGIES, message=f"must be one of {', '.join(STRATEGIES)}")),
        _schema({"enum": list(STRATEGIES)}),
    ] = "verified"
    steps: Annotated[
        Any,
        BeforeValidator(checks.steps),
        _schema(
            {"type": "array", "items": {"oneOf": [{"type": "integer"}, _APPROVE_STEP]}},
            "percentages ending at 100; {approve: true} before a step waits for a person's approval",
        ),
    ] = (
        10,
        50,
        100,
    )
    step_interval_s: Annotated[Any, BeforeValidator(checks.interval), _schema({"type": "number"})] = 300.0
    abort_if: Annotated[AbortIf, _mapping("must be a mapping, e.g. {smoke_failures: 1}")] = AbortIf()

    @model_validator(mode="after")
    def _canary_only(self) -> RolloutSettings:
        extra = [key for key in ("steps", "step_interval_s", "abort_if") if key in self.model_fields_set]
        if self.strategy != "canary" and extra:
            raise Problem(*((key, "only used with strategy: canary") for key in extra))
        return self


def _rollout_kind(value: object) -> str:
    return "settings" if isinstance(value, Mapping) else "name"


_ROLLOUT_NAME = "must be 'immediate' or 'verified', or a mapping with strategy"


def _rollout_name(value: object) -> str:
    if value in ("immediate", "verified"):
        return str(value)
    if "canary" in (value, checks.close_to(value, STRATEGIES)):
        raise fail(_ROLLOUT_NAME + " (did you mean {strategy: canary}?)")
    raise fail(_ROLLOUT_NAME + checks.did_you_mean(value, STRATEGIES))


Rollout = Annotated[
    Annotated[
        Any,
        BeforeValidator(_rollout_name),
        _schema({"enum": ["immediate", "verified"]}),
        Tag("name"),
    ]
    | Annotated[RolloutSettings, Tag("settings")],
    Discriminator(_rollout_kind),
]


def _target(value: object, info: ValidationInfo) -> str:
    if not isinstance(value, str) or not value:
        raise fail("must name a configured agent")
    known = [n for n in (info.context or {}).get("agents", ()) if n]
    if value not in known:
        raise fail(f"{value!r} must be another configured agent{checks.did_you_mean(value, known)}")
    return value


class PromoteTo(Model):
    REQUIRED = ("agent",)
    agent: Annotated[Any, BeforeValidator(_target), _schema({"type": "string"})] = Field(
        default=None, validate_default=True
    )
    project_endpoint: Https = None
    approval: ApprovalField | None = None


def _preflight_kind(value: object) -> str:
    return "flag" if isinstance(value, bool) else "settings"


PreflightField = Annotated[
    Annotated[bool, Tag("flag")]
    | Annotated[
        Preflight,
        _mapping("must be true, false or a mapping with model_deployments and connections"),
        Tag("settings"),
    ],
    Discriminator(_preflight_kind),
]
FILTER_SCHEMA = {"type": "array", "items": {"type": "string"}, "minItems": 1}
Events = Annotated[
    Any,
    BeforeValidator(receiver_checks.event_names),
    _schema({**FILTER_SCHEMA, "items": {"enum": sorted(NOTIFIED_TYPES)}}),
]
PROTOCOL_NAMES = sorted(PROTOCOLS)
AGENT_NAME_SCHEMA = {"type": "string", "pattern": AGENT_NAME.pattern, "maxLength": 63}
FORMAT_NAMES = list(FORMATS)
