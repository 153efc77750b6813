"""Platform behaviours the deployer must cope with, each behind a setting (``settings.Settings``)
so the emulator can also behave as it did before they were known; sources in
``docs/platform-contract.md``.

- a new agent's endpoint routes ``@latest`` at 100 %, ``@latest`` being the newest version that
  is not a draft (``default_selector``);
- a version with live sessions is not deleted without ``force=true`` (``session_linger_s``);
- Invocations calls need the ``Foundry-Features`` preview header (``require_preview_header``);
- the endpoint serves the protocols of ``agent_endpoint.protocol_configuration``, by default
  Responses only (``enforce_protocols``);
- an unknown project is a 404 (``projects``).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from localdev.foundry_emulator.errors import ApiError, bad_request, conflict
from localdev.foundry_emulator.records import AgentRecord, VersionRecord
from localdev.foundry_emulator.settings import Settings
from localdev.foundry_emulator.wire import Request

LATEST = "@latest"
PREVIEW_FEATURE = "HostedAgents=V1Preview"
DEFAULT_PROTOCOLS = frozenset({"responses"})


def new_agent_details(settings: Settings) -> dict[str, Any]:
    """The endpoint configuration a new agent starts with."""
    if settings.default_selector != "latest":
        return {}
    rule = {"type": "FixedRatio", "agent_version": LATEST, "traffic_percentage": 100}
    return {"agent_endpoint": {"version_selector": {"version_selection_rules": [rule]}}}


def latest_version(agent: AgentRecord, now: float) -> VersionRecord:
    """The version ``@latest`` names: the newest one that is neither a draft nor being deleted."""
    candidates = [
        v
        for v in agent.live_versions(now)
        if not v.request.get("draft") and v.state(now).status not in ("deleting", "deleted")
    ]
    if not candidates:
        raise conflict(f"Agent '{agent.name}' has no version for '{LATEST}'.", code="agent_not_ready")
    return candidates[-1]


def check_project(settings: Settings, project: str) -> None:
    """404 ``ResourceNotFound`` unless ``project`` is one of the known projects."""
    if settings.projects is None or any(fnmatchcase(project, pattern) for pattern in settings.projects):
        return
    raise ApiError(404, "ResourceNotFound", "The project does not exist.")


def check_preview_header(settings: Settings, request: Request) -> None:
    """403 ``preview_feature_required`` unless the request opts in to the hosted-agents preview."""
    if not settings.require_preview_header:
        return
    features = {part.strip() for part in (request.header("Foundry-Features") or "").split(",")}
    if PREVIEW_FEATURE not in features:
        raise ApiError(
            403,
            "preview_feature_required",
            f"This operation is in preview: send the header 'Foundry-Features: {PREVIEW_FEATURE}'.",
        )


def served_protocols(details: dict[str, Any]) -> frozenset[str]:
    """The protocols the agent's endpoint serves: those set in its ``protocol_configuration``."""
    endpoint = details.get("agent_endpoint")
    configured = endpoint.get("protocol_configuration") if isinstance(endpoint, dict) else None
    if not isinstance(configured, dict):
        return DEFAULT_PROTOCOLS
    return frozenset(name for name, value in configured.items() if value is not None)


def check_protocol(settings: Settings, agent: AgentRecord, protocol: str) -> None:
    """400 ``protocol_not_enabled`` when the agent's endpoint does not serve ``protocol``."""
    if settings.enforce_protocols and protocol not in served_protocols(agent.details):
        raise bad_request(
            f"The endpoint of agent '{agent.name}' does not serve the '{protocol}' protocol; enable it "
            "in agent_endpoint.protocol_configuration.",
            code="protocol_not_enabled",
        )


def check_deletable(settings: Settings, record: VersionRecord, now: float, *, force: bool) -> None:
    """409 ``conflict`` while the version has live sessions, unless ``force``."""
    linger = settings.session_linger_s
    if force or linger is None or record.last_call is None or now >= record.last_call + linger:
        return
    raise conflict(
        f"Version {record.version} of agent '{record.agent}' has active sessions; delete it with "
        "force=true to end them."
    )
