"""HTTP triggers under ``/api``: each reads its request once (``requests``, ``hold_requests``,
``canary_requests``) and calls one service of ``deployer.deploy`` (or the store, ``health``, the
outbox views of ``notifications``) and answers through ``answers`` (domain errors as
``application/problem+json``); the routes are described by ``GET /api/openapi.json``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import azure.functions as func

from deployer.bootstrap import root
from deployer.deploy import agent_controls, approval_decisions, canary_control, manual, promotion
from deployer.deploy.idempotency import IdempotencyKey
from deployer.domain.errors import Refused
from deployer.entrypoints.http import canary_requests, notifications, openapi, paging
from deployer.entrypoints.http.answers import accepted, guarded, json_response
from deployer.entrypoints.http.approval_requests import approver, parse_reject
from deployer.entrypoints.http.auth import PRINCIPAL_HEADER, RequestCaller
from deployer.entrypoints.http.health import SubscriberRules, check_health, unavailable
from deployer.entrypoints.http.hold_requests import parse_hold_ref
from deployer.entrypoints.http.requests import (
    JsonBody,
    deployments_scope,
    parse_agent_name,
    parse_deploy,
    parse_deployment_id,
    parse_idempotency_key,
    parse_list_query,
    parse_notification_id,
    parse_notifications_query,
    parse_rollback,
    read_json,
)
from deployer.notify import redelivery

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves it untyped


@blueprint.route(route="deployments", methods=["POST"])
def start_deployment(req: func.HttpRequest) -> func.HttpResponse:
    """Deploy an image to a configured agent: 202, the deployment, and its Location."""
    return guarded(req, _start_deployment)


@blueprint.route(route="agents/{agent}/rollback", methods=["POST"])
def rollback_agent(req: func.HttpRequest) -> func.HttpResponse:
    """Deploy the agent's previous active image (or the one named by ``to``): 202."""
    return guarded(req, _rollback_agent)


@blueprint.route(route="agents/{agent}/holds", methods=["GET"])
def list_holds(req: func.HttpRequest) -> func.HttpResponse:
    """The agent's held digests (pushes of them are skipped) and whether it is paused."""
    return guarded(req, _list_holds)


@blueprint.route(route="agents/{agent}/holds/{digest}/release", methods=["POST"])
def release_hold(req: func.HttpRequest) -> func.HttpResponse:
    """Release a held digest, so pushes of it deploy again: ``{"released": bool}``."""
    return guarded(req, _release_hold)


@blueprint.route(route="agents/{agent}/pause", methods=["POST"])
def pause_agent(req: func.HttpRequest) -> func.HttpResponse:
    """Pause the agent: pushes are skipped (reason ``paused``) until it is resumed."""
    return guarded(req, _pause_agent)


@blueprint.route(route="agents/{agent}/resume", methods=["POST"])
def resume_agent(req: func.HttpRequest) -> func.HttpResponse:
    """Resume the agent: pushes deploy again."""
    return guarded(req, _resume_agent)


@blueprint.route(route="deployments/{id}/promote", methods=["POST"])
def promote_canary(req: func.HttpRequest) -> func.HttpResponse:
    """Skip the rest of a deployment's canary: all traffic to its version, then verified."""
    return guarded(req, lambda r: _canary_action(r, canary_control.promote))


@blueprint.route(route="deployments/{id}/abort", methods=["POST"])
def abort_canary(req: func.HttpRequest) -> func.HttpResponse:
    """Roll a deployment's canary back to the stable version at once (rolled_back)."""
    return guarded(req, lambda r: _canary_action(r, canary_control.abort))


@blueprint.route(route="deployments/{id}/approve", methods=["POST"])
def approve_deployment(req: func.HttpRequest) -> func.HttpResponse:
    """Approve a deployment awaiting approval (or its canary's step): it goes ahead."""
    return guarded(req, lambda r: _decide(r, approve=True))


@blueprint.route(route="deployments/{id}/reject", methods=["POST"])
def reject_deployment(req: func.HttpRequest) -> func.HttpResponse:
    """Reject a deployment awaiting approval (body: reason): it ends rejected."""
    return guarded(req, lambda r: _decide(r, approve=False))


@blueprint.route(route="agents/{agent}/promote", methods=["POST"])
def promote_agent(req: func.HttpRequest) -> func.HttpResponse:
    """Deploy the agent's verified image to the agent ``to`` names: 202 and the target's deployment."""
    return guarded(req, _promote_agent)


@blueprint.route(route="deployments/{id}", methods=["GET"])
def get_deployment(req: func.HttpRequest) -> func.HttpResponse:
    """One deployment with its history."""
    return guarded(req, _get_deployment)


@blueprint.route(route="deployments", methods=["GET"])
def list_deployments(req: func.HttpRequest) -> func.HttpResponse:
    """Deployments, newest first: ``?agent=&status=&limit=&next=``."""
    return guarded(req, _list_deployments)


@blueprint.route(route="agents", methods=["GET"])
def list_agents(req: func.HttpRequest) -> func.HttpResponse:
    """The configured agents with their active deployments."""
    return guarded(
        req, lambda _: json_response({"items": [a.to_json() for a in manual.agents(root().context)]})
    )


@blueprint.route(route="notifications", methods=["GET"])
def list_notifications(req: func.HttpRequest) -> func.HttpResponse:
    """Outbox entries, newest deployments first: ``?state=pending|delivered|dead&limit=&next=``."""
    return guarded(req, _list_notifications)


@blueprint.route(route="notifications/{id}/redeliver", methods=["POST"])
def redeliver_notification(req: func.HttpRequest) -> func.HttpResponse:
    """Send a dead notification again: 202 and the entry, now pending."""
    return guarded(req, _redeliver_notification)


@blueprint.route(route="caller", methods=["GET"])
def get_caller(req: func.HttpRequest) -> func.HttpResponse:
    """Who is calling and whether the write routes would accept them (the dashboard's actions)."""
    return guarded(req, _show_caller)


@blueprint.route(route="health", methods=["GET"])
def health(req: func.HttpRequest) -> func.HttpResponse:
    """200 when Table Storage and every Foundry endpoint answer, 503 otherwise."""
    try:
        app = root()
        rules = SubscriberRules(resolver=app.resolver, allow_loopback=app.settings.webhooks_allow_loopback)
        report = check_health(app.context, table=app.settings.table_name, subscribers=rules)
    except Exception as exc:  # a deployer that cannot start is unhealthy, not broken
        report = unavailable("startup", exc)
    return json_response(report.to_json(), 200 if report.ok else 503)


@blueprint.route(route="openapi.json", methods=["GET"])
def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    """The OpenAPI 3.1 document of these routes."""
    return json_response(openapi.document())


def _start_deployment(req: func.HttpRequest) -> func.HttpResponse:
    requested_by = caller(req).writer()
    body = read_json(req.get_body(), req.headers.get("content-type"), required=True)
    request = parse_deploy(body, root().context.config)
    key = _idempotency_key(req, "POST /api/deployments", requested_by, body)
    return accepted(manual.deploy(root().context, request, requested_by=requested_by, key=key))


def _rollback_agent(req: func.HttpRequest) -> func.HttpResponse:
    requested_by = caller(req).writer()
    agent = parse_agent_name(req.route_params.get("agent", ""))
    body = read_json(req.get_body(), req.headers.get("content-type"), required=False)
    request = parse_rollback(agent, body)
    key = _idempotency_key(req, f"POST /api/agents/{agent}/rollback", requested_by, body)
    return accepted(manual.rollback(root().context, request, requested_by=requested_by, key=key))


def _list_holds(req: func.HttpRequest) -> func.HttpResponse:
    agent = parse_agent_name(req.route_params.get("agent", ""))
    return json_response(agent_controls.holds_of(root().context, agent).to_json())


def _release_hold(req: func.HttpRequest) -> func.HttpResponse:
    requested_by = caller(req).writer()
    ref = parse_hold_ref(req.route_params.get("agent", ""), req.route_params.get("digest", ""))
    released = agent_controls.release(root().context, ref.agent, ref.digest, requested_by=requested_by)
    return json_response({"released": released})


def _pause_agent(req: func.HttpRequest) -> func.HttpResponse:
    requested_by = caller(req).writer()
    agent = parse_agent_name(req.route_params.get("agent", ""))
    return json_response(agent_controls.pause(root().context, agent, by=requested_by).to_json())


def _resume_agent(req: func.HttpRequest) -> func.HttpResponse:
    caller(req).writer()  # refuses a caller that may not write; resume records nobody
    agent = parse_agent_name(req.route_params.get("agent", ""))
    return json_response(agent_controls.resume(root().context, agent).to_json())


def _canary_action(req: func.HttpRequest, action: Callable[..., Any]) -> func.HttpResponse:
    requested_by = caller(req).writer()
    deployment_id = parse_deployment_id(req.route_params.get("id", ""))
    return json_response(action(root().context, deployment_id, by=requested_by).to_json())


def _decide(req: func.HttpRequest, *, approve: bool) -> func.HttpResponse:
    who = caller(req)
    decider = approver(who.header, role=who.role, auth_enabled=who.auth_enabled)
    deployment_id = parse_deployment_id(req.route_params.get("id", ""))
    if approve:
        return json_response(approval_decisions.approve(root().context, deployment_id, decider).to_json())
    reason = parse_reject(read_json(req.get_body(), req.headers.get("content-type"), required=True))
    return json_response(approval_decisions.reject(root().context, deployment_id, decider, reason).to_json())


def _promote_agent(req: func.HttpRequest) -> func.HttpResponse:
    requested_by = caller(req).writer()
    body = read_json(req.get_body(), req.headers.get("content-type"), required=True)
    request = canary_requests.parse_promote(req.route_params.get("agent", ""), body)
    target = promotion.promote_to_agent(root().context, request.agent, request.to, requested_by=requested_by)
    return accepted(manual.Started(deployment=target))


def _get_deployment(req: func.HttpRequest) -> func.HttpResponse:
    deployment_id = parse_deployment_id(req.route_params.get("id", ""))
    found = root().context.store.get(deployment_id)
    if found is None:
        raise Refused("not-found", f"no deployment {deployment_id}; list them at /api/deployments")
    return json_response(found.to_json())


def _list_deployments(req: func.HttpRequest) -> func.HttpResponse:
    query = parse_list_query(dict(req.params))
    if query.agent is not None:
        root().context.config.configured(query.agent)  # unknown-agent, not an empty page
    store = root().context.store
    paging.require_row(query.next, lambda after: store.get(after) is not None)
    page = store.list(agent=query.agent, status=query.status, limit=query.limit, after=query.next)
    scope = deployments_scope(query.agent, query.status)
    next_token = paging.token(page.next, scope) if page.next else None
    return json_response({"items": [d.to_json() for d in page.items], "next": next_token})


def _list_notifications(req: func.HttpRequest) -> func.HttpResponse:
    query = parse_notifications_query(dict(req.params))
    return json_response(notifications.page(root().context, query).to_json())


def _redeliver_notification(req: func.HttpRequest) -> func.HttpResponse:
    requested_by = caller(req).writer()
    entry_id = parse_notification_id(req.route_params.get("id", ""))
    ctx = root().context
    redelivered = redelivery.redeliver(ctx, entry_id, requested_by=requested_by)
    return json_response(notifications.view(ctx, redelivered).to_json(), 202)


def _show_caller(req: func.HttpRequest) -> func.HttpResponse:
    who = caller(req)
    principal = who.signed_in()
    return json_response(
        {
            "name": principal.name if principal else None,
            "signed_in": principal is not None,
            "can_write": who.may_write(),
            "write_role": who.role,
        }
    )


def caller(req: func.HttpRequest) -> RequestCaller:
    """The request's caller, judged by the app's settings (App Service Authentication, write role)."""
    settings = root().settings
    return RequestCaller(
        header=req.headers.get(PRINCIPAL_HEADER), role=settings.write_role, auth_enabled=settings.auth_enabled
    )


def _idempotency_key(
    req: func.HttpRequest, route: str, caller: str | None, body: JsonBody
) -> IdempotencyKey | None:
    key = parse_idempotency_key(req.headers.get("idempotency-key"))
    if key is None:
        return None
    return IdempotencyKey(scope=f"{route}|{caller or ''}", key=key, body_sha256=body.sha256)
