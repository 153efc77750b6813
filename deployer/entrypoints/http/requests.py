"""Request bodies, query strings and headers read once into frozen values, or refused.

Everything here is pure: a request is refused (:class:`Refused`) before any service runs,
so a refused request has written nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast, get_args

from deployer.deploy.requests import DeployRequest, RollbackRequest
from deployer.domain.agents import AGENT_NAME, DeployerConfig
from deployer.domain.errors import Refused
from deployer.domain.imageref import ImageRef, ImageRefError, resolve
from deployer.domain.model import Status
from deployer.domain.notifications import ENTRY_STATES
from deployer.entrypoints.http import paging

#: The largest request body accepted (the Functions host would take 100 MB).
MAX_BODY_BYTES = 64 * 1024
MAX_REASON = 500
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
STATUSES: tuple[str, ...] = get_args(Status)
_DEPLOYMENT_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
#: ``<deployment id>.<status>.<subscriber key>`` (``deployer.notify.events.entry_id``).
_NOTIFICATION_ID = re.compile(r"^[A-Za-z0-9]{1,64}\.[a-z_]{1,32}\.[a-z0-9]{1,64}$")
_IDEMPOTENCY_KEY = re.compile(r"^[\x20-\x7e]{1,255}$")
_JSON_TYPES = re.compile(r"^application/(?:[\w.+-]+\+)?json$", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class JsonBody:
    """A request body read as a JSON object, with a digest of its canonical form (for
    Idempotency-Key: the same document sent with other whitespace is the same request)."""

    document: Mapping[str, Any]
    sha256: str


@dataclass(frozen=True, kw_only=True)
class ListQuery:
    """``GET /api/deployments?agent=&status=&limit=&next=``."""

    agent: str | None = None
    status: Status | None = None
    limit: int = DEFAULT_LIMIT
    #: The row the page starts after (read from the ``next`` token), ``None`` for the first page.
    next: str | None = None


@dataclass(frozen=True, kw_only=True)
class NotificationsQuery:
    """``GET /api/notifications?state=&limit=&next=``."""

    state: str | None = None
    limit: int = DEFAULT_LIMIT
    #: The row the page starts after (read from the ``next`` token), ``None`` for the first page.
    next: str | None = None


def read_json(body: bytes, content_type: str | None, *, required: bool) -> JsonBody:
    """The body as a JSON object. An empty body is ``{}`` where the body is optional."""
    if len(body) > MAX_BODY_BYTES:
        raise Refused(
            "body-too-large", f"the body is {len(body)} bytes; at most {MAX_BODY_BYTES} are accepted"
        )
    if not body.strip() and not required:
        return JsonBody(document={}, sha256=_digest({}))
    media_type = (content_type or "").split(";", 1)[0].strip()
    if not _JSON_TYPES.fullmatch(media_type):
        raise Refused(
            "unsupported-media-type",
            f"send the body as JSON with 'Content-Type: application/json' (got {media_type or 'none'!r})",
        )
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Refused("invalid-body", f"the body is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(document, dict):
        raise Refused("invalid-body", "the body must be a JSON object")
    return JsonBody(document=document, sha256=_digest(document))


def parse_deploy(body: JsonBody, config: DeployerConfig) -> DeployRequest:
    """The deploy request in ``body``; every field problem is reported at once. The image may
    be short (``:tag``, ``@sha256:...``, ``repository:tag``): completed from the agent's config."""
    doc = body.document
    errors = _unknown_fields(doc, {"agent", "image", "environment_variables", "reason"})
    agent = _agent_field(doc.get("agent"), errors)
    image = _image_field(doc.get("image"), errors, config, agent)
    env = _environment_field(doc.get("environment_variables", {}), errors)
    reason = _reason_field(doc.get("reason"), errors)
    _raise_if(errors)
    assert image is not None
    return DeployRequest(agent=agent, image=image, environment_variables=env, reason=reason)


def parse_rollback(agent: str, body: JsonBody) -> RollbackRequest:
    """The rollback request for ``agent`` (from the route) in ``body`` (may be empty)."""
    name = parse_agent_name(agent)
    doc = body.document
    errors = _unknown_fields(doc, {"to", "reason"})
    to = doc.get("to")
    if to is not None and (not isinstance(to, str) or not _DEPLOYMENT_ID.fullmatch(to)):
        errors.append(_error("to", "must be a deployment id or a version number (letters and digits)"))
    reason = _reason_field(doc.get("reason"), errors)
    _raise_if(errors)
    return RollbackRequest(agent=name, to=to, reason=reason)


def parse_list_query(params: Mapping[str, str]) -> ListQuery:
    """The list filters and page; unknown parameters are refused so a typo is not ignored."""
    unknown = sorted(set(params) - {"agent", "status", "limit", "next", "code"})
    if unknown:
        raise Refused("invalid-query", f"unknown query parameter(s): {', '.join(unknown)}")
    agent, status, next_ = params.get("agent") or None, params.get("status") or None, params.get("next")
    if agent is not None and not AGENT_NAME.fullmatch(agent):
        raise Refused("invalid-query", f"agent={agent[:80]!r} is not an agent name")
    if status is not None and status not in STATUSES:
        raise Refused("invalid-query", f"status must be one of: {', '.join(STATUSES)}")
    after = paging.position(next_, deployments_scope(agent, status), _DEPLOYMENT_ID)
    return ListQuery(agent=agent, status=cast(Status | None, status), limit=_limit(params), next=after)


def parse_notifications_query(params: Mapping[str, str]) -> NotificationsQuery:
    """The outbox filter and page; unknown parameters are refused so a typo is not ignored."""
    unknown = sorted(set(params) - {"state", "limit", "next", "code"})
    if unknown:
        raise Refused("invalid-query", f"unknown query parameter(s): {', '.join(unknown)}")
    state, next_ = params.get("state") or None, params.get("next") or None
    if state is not None and state not in ENTRY_STATES:
        raise Refused("invalid-query", f"state must be one of: {', '.join(sorted(ENTRY_STATES))}")
    after = paging.position(next_, notifications_scope(state), _NOTIFICATION_ID)
    return NotificationsQuery(state=state, limit=_limit(params), next=after)


def deployments_scope(agent: str | None, status: str | None) -> str:
    """What a deployments page token is bound to: its filters."""
    return f"deployments|{agent or ''}|{status or ''}"


def notifications_scope(state: str | None) -> str:
    """What a notifications page token is bound to: its filter."""
    return f"notifications|{state or ''}"


def parse_notification_id(text: str) -> str:
    """A notification id as the list shows it: ``<deployment id>.<status>.<subscriber key>``."""
    if not _NOTIFICATION_ID.fullmatch(text):
        raise Refused(
            "invalid-query", "a notification id is <deployment id>.<status>.<subscriber key>, as listed"
        )
    return text


def parse_deployment_id(text: str) -> str:
    if not _DEPLOYMENT_ID.fullmatch(text):
        raise Refused("invalid-query", "a deployment id is 1 to 64 letters and digits")
    return text


def parse_agent_name(text: str) -> str:
    if not AGENT_NAME.fullmatch(text):
        raise Refused("invalid-query", f"{text[:80]!r} is not an agent name")
    return text


def parse_idempotency_key(header: str | None) -> str | None:
    """The ``Idempotency-Key`` header, if sent: 1 to 255 printable ASCII characters."""
    if header is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(header):
        raise Refused("invalid-header", "Idempotency-Key must be 1 to 255 printable ASCII characters")
    return header


def _limit(params: Mapping[str, str]) -> int:
    raw = params.get("limit") or str(DEFAULT_LIMIT)
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise Refused("invalid-query", f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def _digest(document: Any) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _error(name: str, message: str) -> dict[str, str]:
    return {"field": name, "message": message}


def _raise_if(errors: list[dict[str, str]]) -> None:
    if errors:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise Refused("invalid-body", detail, errors=errors)


def _unknown_fields(doc: Mapping[str, Any], known: set[str]) -> list[dict[str, str]]:
    hint = f"known fields: {', '.join(sorted(known))}"
    return [_error(str(name)[:80], f"unknown field ({hint})") for name in doc if name not in known]


def _agent_field(raw: object, errors: list[dict[str, str]]) -> str:
    if not isinstance(raw, str) or not AGENT_NAME.fullmatch(raw):
        errors.append(_error("agent", "required: the name of a configured agent"))
        return ""
    return raw


def _image_field(
    raw: object, errors: list[dict[str, str]], config: DeployerConfig, name: str
) -> ImageRef | None:
    if not isinstance(raw, str):
        errors.append(_error("image", "required: registry/repository:tag or registry/repository@sha256:..."))
        return None
    try:
        agent = config.agent(name)
        if agent is None:  # an unknown agent is refused later, by name
            return ImageRef.parse(raw)
        only = config.registries[0] if len(config.registries) == 1 else None
        return resolve(raw, registry=agent.registry or only, repository=agent.repository)
    except ImageRefError as exc:
        errors.append(_error("image", str(exc)))
        return None


def _environment_field(raw: object, errors: list[dict[str, str]]) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        errors.append(_error("environment_variables", "must be an object of NAME: string value"))
        return {}
    return dict(raw)


def _reason_field(raw: object, errors: list[dict[str, str]]) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > MAX_REASON:
        errors.append(_error("reason", f"must be a string of at most {MAX_REASON} characters"))
        return None
    return raw
