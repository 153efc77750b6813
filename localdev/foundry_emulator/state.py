"""The emulator's in-memory state: projects, agents, versions, settings and the request log.

Everything is guarded by one lock. Provisioning and deletion progress lazily: each read
computes a version's status from the monotonic clock, so there are no background threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from localdev.foundry_emulator import endpoint_config, platform, records
from localdev.foundry_emulator.errors import bad_request, conflict, not_found
from localdev.foundry_emulator.paging import PageRequest, paginate
from localdev.foundry_emulator.records import AgentRecord, Outcome, VersionRecord
from localdev.foundry_emulator.registry_pull import RegistryPull
from localdev.foundry_emulator.settings import Fault, ImageReply, Settings, apply_settings_update
from localdev.foundry_emulator.wire import Request

FORCED_FAILURE = {"code": "ProvisioningFailed", "message": "Failed through the emulator admin API."}


class EmulatorState:
    """Thread-safe in-memory model of the Foundry Agent Service for any number of projects."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        baseline: Settings | None = None,
        pull: RegistryPull | None = None,
    ) -> None:
        self._pull = pull or RegistryPull(None)
        self._lock = threading.Lock()
        self._clock = clock
        self._wall_clock = wall_clock
        self._baseline = replace(baseline or Settings())
        self._projects: dict[str, dict[str, AgentRecord]] = {}
        self._settings = replace(self._baseline)
        self._requests: list[dict[str, Any]] = []
        self._sequence = 0

    # -- admin: settings, request log, faults, reset ------------------------------------------

    def reset(self) -> None:
        """Forget all projects, faults and logged requests; settings go back to the baseline
        (the settings the emulator was started with)."""
        with self._lock:
            self._projects = {}
            self._settings = replace(self._baseline)
            self._requests = []
            self._sequence = 0

    def settings(self) -> dict[str, Any]:
        """Return the current settings as JSON."""
        with self._lock:
            return self._settings.to_json()

    def update_settings(self, payload: Any) -> dict[str, Any]:
        """Replace the settings named in ``payload`` and return all settings."""
        with self._lock:
            self._settings = apply_settings_update(self._settings, payload)
            return self._settings.to_json()

    def record_request(self, entry: dict[str, Any]) -> None:
        """Append one received request to the log."""
        with self._lock:
            self._requests.append(entry)

    def requests(self) -> list[dict[str, Any]]:
        """Return the logged requests, oldest first."""
        with self._lock:
            return list(self._requests)

    def check_request(self, project: str, request: Request, *, preview: bool) -> None:
        """404 for an unknown project; 403 for a ``preview`` call without the preview header."""
        with self._lock:
            settings = self._settings
        platform.check_project(settings, project)
        if preview:
            platform.check_preview_header(settings, request)

    def take_fault(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first fault matching the request, if any."""
        with self._lock:
            for fault in self._settings.faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    return replace(fault)
            return None

    # -- agents ---------------------------------------------------------------------------------

    def create_agent(self, project: str, body: Any) -> dict[str, Any]:
        """Create an agent and its version 1 (409 if the agent exists)."""
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise bad_request("'name' is required.", param="name")
        name = body["name"]
        request = records.version_request(name, body)
        pulled = self._pull_failure(request["image"])
        with self._lock:
            now = self._clock()
            if self._visible_agent(project, name, now) is not None:
                raise conflict(f"Agent '{name}' already exists.")
            agent = self._add_version(project, name, request, now, pulled)
            return agent.to_json(now)

    def create_version(self, project: str, name: str, body: Any) -> dict[str, Any]:
        """Create the next version of an agent, creating the agent if it is absent."""
        request = records.version_request(name, body)
        pulled = self._pull_failure(request["image"])
        with self._lock:
            now = self._clock()
            agent = self._add_version(project, name, request, now, pulled)
            return agent.versions[agent.next_version - 1].to_json(now)

    def _pull_failure(self, image: str) -> str | None:
        """How pulling ``image`` from its registry turns out (an error code, ``None``: pulled),
        asked before the lock is taken: it is a network call."""
        return self._pull.failure(self._settings.registry_endpoint, image)

    def get_agent(self, project: str, name: str) -> dict[str, Any]:
        """Return an agent (404 if absent)."""
        with self._lock:
            now = self._clock()
            return self._agent(project, name, now).to_json(now)

    def list_agents(self, project: str, query: Mapping[str, str]) -> dict[str, Any]:
        """Return one page of the project's agents."""
        page = PageRequest.from_query(query)
        with self._lock:
            now = self._clock()
            agents = self._projects.get(project, {})
            hosted = query.get("kind") in (None, "hosted")  # every emulated agent is hosted
            visible = [a for a in agents.values() if hosted and a.live_versions(now)]
            entries = [(a.sequence, a.to_json(now)) for a in visible]

            def cursor(agent_id: str) -> int:
                if agent_id not in agents:
                    raise bad_request(f"Unknown pagination cursor '{agent_id}'.")
                return agents[agent_id].sequence

            return paginate(entries, page, cursor)

    def update_agent(self, project: str, name: str, patch: Any) -> dict[str, Any]:
        """Merge-patch an agent's endpoint configuration and return the agent."""
        endpoint_config.validate_agent_patch(patch)
        with self._lock:
            now = self._clock()
            agent = self._agent(project, name, now)
            details = endpoint_config.merge_patch(agent.details, patch)
            versions = {v.version for v in agent.live_versions(now)} | {platform.LATEST}
            endpoint_config.validate_selector(details, versions)
            if endpoint_config.selector_rules(details) != endpoint_config.selector_rules(agent.details):
                agent.route_weights = {}
            agent.details = details
            return agent.to_json(now)

    def delete_agent(self, project: str, name: str) -> dict[str, Any]:
        """Delete an agent and all its versions."""
        with self._lock:
            self._agent(project, name, self._clock())
            del self._projects[project][name]
            return {"object": "agent.deleted", "name": name, "deleted": True}

    # -- versions -------------------------------------------------------------------------------

    def get_version(self, project: str, name: str, version: str) -> dict[str, Any]:
        """Return one version (404 if absent or fully deleted)."""
        with self._lock:
            now = self._clock()
            return self._version(project, name, version, now).to_json(now)

    def list_versions(self, project: str, name: str, query: Mapping[str, str]) -> dict[str, Any]:
        """Return one page of an agent's versions (404 if the agent is absent)."""
        page = PageRequest.from_query(query)
        with self._lock:
            now = self._clock()
            agent = self._agent(project, name, now)
            entries = [(v.number, v.to_json(now)) for v in agent.live_versions(now)]
            return paginate(entries, page, _version_cursor)

    def delete_version(self, project: str, name: str, version: str, *, force: bool = False) -> dict[str, Any]:
        """Start deleting a version: ``deleting`` now, gone after ``delete_delay_s``; 409 while it
        has live sessions, unless ``force``."""
        with self._lock:
            now = self._clock()
            record = self._version(project, name, version, now)
            platform.check_deletable(self._settings, record, now, force=force)
            if record.delete_started is None:
                record.delete_started = now
                record.delete_after_s = self._settings.delete_delay_s
            return {
                "object": "agent.version.deleted",
                "name": name,
                "version": record.version,
                "deleted": True,
            }

    def force_status(self, project: str, name: str, version: str, body: Any) -> dict[str, Any]:
        """Force a version's status to ``active`` or ``failed`` (admin API)."""
        status = body.get("status") if isinstance(body, dict) else None
        if status not in ("active", "failed"):
            raise bad_request("'status' must be 'active' or 'failed'.", param="status")
        error = (body.get("error") or FORCED_FAILURE) if status == "failed" else None
        if error is not None and not isinstance(error, dict):
            raise bad_request("'error' must be an object with 'code' and 'message'.", param="error")
        with self._lock:
            now = self._clock()
            record = self._version(project, name, version, now)
            record.forced = Outcome(status, None if error is None else dict(error))
            return record.to_json(now)

    def route(self, project: str, name: str, pinned: str | None, protocol: str) -> tuple[str, int]:
        """Return the version that serves an endpoint call and a per-state call number.

        A pinned version (``agent_reference.version``) wins; otherwise the agent's version
        selector; otherwise the latest active version. 404/409 when none can serve; 400 when the
        endpoint does not serve ``protocol``. The call leaves a session on the version.
        """
        with self._lock:
            now = self._clock()
            agent = self._agent(project, name, now)
            platform.check_protocol(self._settings, agent, protocol)
            record = self._serving_version(agent, pinned, now)
            declared = records.definition_protocols(record.request["definition"])
            if declared and protocol not in declared:
                raise bad_request(
                    f"Agent '{name}' version {record.version} does not declare the '{protocol}' protocol."
                )
            self._sequence += 1
            record.last_call = now
            return record.version, self._sequence

    def has_resource(self, kind: str, name: str) -> bool:
        """Whether a ``model_deployments`` or ``connections`` entry named ``name`` exists (every
        name does while the setting is null)."""
        with self._lock:
            names = self._settings.model_deployments if kind == "deployment" else self._settings.connections
            return names is None or name in names

    def image_reply(self, project: str, name: str, version: str) -> ImageReply | None:
        """How the version's image is set to answer (``image_replies``), if it is."""
        with self._lock:
            record = self._version(project, name, version, self._clock())
            return self._settings.image_replies.get(record.request["image"])

    # -- helpers (call with the lock held) ------------------------------------------------------

    def _add_version(
        self, project: str, name: str, request: dict[str, Any], now: float, pull_failure: str | None
    ) -> AgentRecord:
        agents = self._projects.setdefault(project, {})
        agent = agents.get(name)
        wall = int(self._wall_clock())
        if agent is None:
            self._sequence += 1
            agent = agents[name] = AgentRecord(project, name, self._sequence, wall)
            agent.details = platform.new_agent_details(self._settings)
        number = agent.next_version
        agent.next_version += 1
        agent.versions[number] = VersionRecord(
            project=project,
            agent=name,
            number=number,
            request=request,
            created_at=wall,
            created_mono=now,
            ready_after_s=self._settings.provision_delay_s,
            outcome=records.provisioning_outcome(request["image"], self._settings, pull_failure),
            identity_after_s=self._settings.identity_delay_s,
        )
        return agent

    def _visible_agent(self, project: str, name: str, now: float) -> AgentRecord | None:
        agent = self._projects.get(project, {}).get(name)
        return agent if agent is not None and agent.live_versions(now) else None

    def _agent(self, project: str, name: str, now: float) -> AgentRecord:
        agent = self._visible_agent(project, name, now)
        if agent is None:
            raise not_found(f"Agent '{name}' was not found.")
        return agent

    def _version(self, project: str, name: str, version: str, now: float) -> VersionRecord:
        agent = self._projects.get(project, {}).get(name)
        record = agent.versions.get(records.version_number(version)) if agent is not None else None
        if record is None or record.is_gone(now):
            raise not_found(f"Version '{version}' of agent '{name}' was not found.")
        return record

    def _serving_version(self, agent: AgentRecord, pinned: str | None, now: float) -> VersionRecord:
        if pinned is None:
            rules = endpoint_config.selector_rules(agent.details)
            pinned = endpoint_config.pick_weighted(rules, agent.route_weights) if rules else None
        if pinned is not None:
            record = (
                platform.latest_version(agent, now)
                if pinned == platform.LATEST
                else self._version(agent.project, agent.name, pinned, now)
            )
            if record.state(now).status != "active":
                raise conflict(
                    f"Version {record.version} of agent '{agent.name}' is {record.state(now).status}, "
                    "not active.",
                    code="agent_version_not_active",
                )
            return record
        active = [v for v in agent.live_versions(now) if v.state(now).status == "active"]
        if not active:
            raise conflict(f"Agent '{agent.name}' has no active version.", code="agent_not_ready")
        return active[-1]


def _version_cursor(cursor: str) -> int:
    number = records.version_number(cursor)
    if number < 0:
        raise bad_request(f"Unknown pagination cursor '{cursor}'.")
    return number
