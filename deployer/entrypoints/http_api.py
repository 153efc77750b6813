"""HTTP triggers: reading deployments (``/api/deployments``) and health."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

from deployer.bootstrap import root

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves it untyped


def _json(body: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


def _problem(status: int, title: str, detail: str) -> func.HttpResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/problem+json")


@blueprint.route(route="deployments/{id}", methods=["GET"])
def get_deployment(req: func.HttpRequest) -> func.HttpResponse:
    """One deployment with its history."""
    deployment_id = req.route_params.get("id", "")
    if not deployment_id.isalnum() or len(deployment_id) > 64:
        return _problem(400, "Bad deployment id", "a deployment id is letters and digits")
    found = root().context.store.get(deployment_id)
    if found is None:
        return _problem(404, "Not found", f"no deployment {deployment_id}")
    return _json(found.to_json())


@blueprint.route(route="deployments", methods=["GET"])
def list_deployments(req: func.HttpRequest) -> func.HttpResponse:
    """Deployments, newest first: ``?agent=&status=&limit=&next=``."""
    try:
        limit = int(req.params.get("limit", "50"))
    except ValueError:
        return _problem(400, "Bad limit", "limit must be a whole number from 1 to 200")
    if not 1 <= limit <= 200:
        return _problem(400, "Bad limit", "limit must be a whole number from 1 to 200")
    page = root().context.store.list(
        agent=req.params.get("agent"),
        status=req.params.get("status"),
        limit=limit,
        after=req.params.get("next"),
    )
    return _json({"items": [d.to_json() for d in page.items], "next": page.next})
