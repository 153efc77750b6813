"""Builders for tests that drive the dev host and look at an agent's endpoint on the stack's Foundry
emulator: versions made by hand (as in the portal), the selector as a person sets it, which
version answers an unpinned call, pushes through the Event Grid webhook."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from azure.ai.projects import AIProjectClient

from deployer.adapters.credentials import StaticTokenCredential
from deployer.cli.simulate import image_pushed_event
from tests.integration.foundry_support import hosted, raw_headers, wait_for_status

if TYPE_CHECKING:
    from tests.integration.conftest import Http

REGISTRY = "myregistry.azurecr.io"
PROJECT = "local"
#: The selector a new agent's endpoint starts with on the platform.
DEFAULT = [("@latest", 100)]


def image(agent: str, tag: str) -> str:
    return f"{REGISTRY}/agents/{agent}:{tag}"


def project(http: Http) -> AIProjectClient:
    return AIProjectClient(
        endpoint=f"{http.info.foundry_origin}/api/projects/{PROJECT}",
        credential=StaticTokenCredential("test-token"),
        allow_preview=True,
        connection_verify=http.info.foundry_ca_bundle,
    )


def create_by_hand(http: Http, agent: str, tag: str) -> str:
    """A version made outside the deployer (the portal, a script) of an image pushed first (the
    emulator pulls it from the registry stand-in); its number once active."""
    http.seed(image(agent, tag))
    client = project(http)
    details = client.agents.create_version(agent, definition=hosted(image(agent, tag)))
    assert wait_for_status(client, agent, details.version, "active").status == "active"
    return str(details.version)


def selector(http: Http, agent: str) -> list[tuple[str, int]]:
    endpoint = project(http).agents.get(agent).get("agent_endpoint") or {}
    rules = (endpoint.get("version_selector") or {}).get("version_selection_rules") or []
    return [(r["agent_version"], r["traffic_percentage"]) for r in rules]


def wait_for_selector(http: Http, agent: str, check: Any, timeout_s: float = 30) -> list[tuple[str, int]]:
    """The agent's selector once ``check(rules)`` holds (the deadline is a safety net)."""
    deadline = time.monotonic() + timeout_s
    while True:
        rules = selector(http, agent)
        if check(rules) or time.monotonic() > deadline:
            return rules
        time.sleep(0.1)


def set_selector(http: Http, agent: str, rules: list[tuple[str, int]]) -> None:
    """Route the agent as a person does, by a merge-patch of its endpoint."""
    selection = [{"type": "FixedRatio", "agent_version": v, "traffic_percentage": p} for v, p in rules]
    body = {"agent_endpoint": {"version_selector": {"version_selection_rules": selection}}}
    project(http).agents.update_details(agent, body)


def answered_by(http: Http, agent: str) -> str:
    """The version that answers a Responses call the selector routes (no version named)."""
    agents = f"{http.info.foundry_origin}/api/projects/{PROJECT}/agents"
    url = f"{agents}/{agent}/endpoint/protocols/openai/responses"
    status, reply = http.request("POST", f"{url}?api-version=v1", {"input": "hi"}, raw_headers())
    assert status == 200, reply
    return str(reply["agent_reference"]["version"])


def push(http: Http, agent: str, tag: str) -> dict[str, Any]:
    """Deliver an ACR push through the Event Grid webhook; the record it made."""
    event = image_pushed_event(image(agent, tag))
    assert http.deliver([event]) == 202
    [record] = http.records_for(event["id"])
    return record


def wait_until(http: Http, deployment_id: str, check: Any, timeout_s: float = 60) -> dict[str, Any]:
    """The deployment once ``check(record)`` holds (the deadline is a safety net, never asserted)."""
    deadline = time.monotonic() + timeout_s
    while True:
        record = http.api(f"deployments/{deployment_id}")
        if check(record) or time.monotonic() > deadline:
            return record
        time.sleep(0.2)


def selector_writes(http: Http, agent: str) -> list[list[tuple[str, int]]]:
    """Every version selector written for ``agent`` on the emulator, in order."""
    found = []
    for r in http.emulator("GET", "requests")["requests"]:
        if r["method"] == "PATCH" and r["path"].endswith(f"/projects/{PROJECT}/agents/{agent}"):
            chosen = ((r["body"] or {}).get("agent_endpoint") or {}).get("version_selector")
            if chosen is not None:
                rules = chosen.get("version_selection_rules") or []
                found.append([(x["agent_version"], x["traffic_percentage"]) for x in rules])
    return found
