"""Project resources an agent depends on, as ``project.deployments`` and ``project.connections``
read them: model deployments and connections, by name (the admin settings say which exist)."""

from __future__ import annotations

from typing import Any


def model_deployment(name: str) -> dict[str, Any]:
    """Return a ``ModelDeployment`` as the service answers ``GET /deployments/{name}``."""
    return {
        "type": "ModelDeployment",
        "name": name,
        "modelName": name,
        "modelVersion": "1",
        "modelPublisher": "OpenAI",
        "capabilities": {"chat_completion": "true"},
        "sku": {"capacity": 10, "family": "", "name": "GlobalStandard", "size": "", "tier": ""},
    }


def connection(project: str, name: str) -> dict[str, Any]:
    """Return a ``Connection`` (no credentials) as the service answers ``GET /connections/{name}``."""
    return {
        "name": name,
        "id": f"/projects/{project}/connections/{name}",
        "type": "CognitiveSearch",
        "target": f"https://{name}.search.windows.net",
        "isDefault": False,
        "credentials": {"type": "AAD"},
        "metadata": {},
    }
