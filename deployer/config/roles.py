"""An agent's runtime-role settings in ``deployer.yaml``: ``grant_runtime_role`` and
``project_resource_id`` (inherited from the top level), validated."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deployer.domain.roles import AZURE_AI_USER, HOW_TO_FIND_PROJECT_RESOURCE_ID, is_project_resource_id


def runtime_role_options(raw: Mapping[str, Any], at: str, problems: list[str]) -> dict[str, Any]:
    """Validate an agent's ``grant_runtime_role`` (default on) and ``project_resource_id``."""
    grant = raw.get("grant_runtime_role", True)
    if not isinstance(grant, bool):
        problems.append(f"{at}.grant_runtime_role: must be true or false")
        grant = True
    resource = raw.get("project_resource_id")
    if resource is not None and (not isinstance(resource, str) or not is_project_resource_id(resource)):
        problems.append(f"{at}.project_resource_id: {resource!r} is not {HOW_TO_FIND_PROJECT_RESOURCE_ID}")
    elif resource is None and grant:
        problems.append(
            f"{at}.project_resource_id: required while grant_runtime_role is on (the default), so "
            f"that the agent's identity can be given {AZURE_AI_USER}; set it at the top level or "
            f"per agent (or set grant_runtime_role: false). It is {HOW_TO_FIND_PROJECT_RESOURCE_ID}"
        )
    return {"grant_runtime_role": grant, "project_resource_id": resource}
