"""Approvals through the dev host (real HTTP, Table Storage on Azurite, the Foundry emulator):
a push that needs approval waits with nothing created; approve (API) starts it, reject (the
installed CLI) and expiry (the timer poll) end it rejected; a newer push supersedes an older one
still waiting; approving while the agent is paused is refused (the CLI says what to resume) and
it keeps waiting; behind App Service Authentication only a listed approver may decide."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from deployer.cli.simulate import image_pushed_event
from localdev.stack import Stack
from tests.integration.conftest import Http
from tests.integration.extra_hosts import extra_host
from tests.integration.helpers import run

pytestmark = pytest.mark.integration
REGISTRY = "myregistry.azurecr.io"


@pytest.fixture(scope="module")
def authed(stack: Stack) -> Iterator[str]:
    """A second dev host on the same services, as App Service runs it with Easy Auth on."""
    yield from extra_host(
        stack, "deployer-approvals-auth", {"WEBSITE_AUTH_ENABLED": "True"}, run_timers=False
    )


def principal(name: str, *roles: str) -> dict[str, str]:
    claims = [{"typ": "preferred_username", "val": name}] + [{"typ": "roles", "val": r} for r in roles]
    document = {"auth_typ": "aad", "claims": claims}
    return {"x-ms-client-principal": base64.b64encode(json.dumps(document).encode()).decode()}


def pushed(http: Http, agent: str, tag: str | None = None) -> dict[str, Any]:
    """An ImagePushed event for ``agent`` through the Event Grid webhook; its record."""
    event = image_pushed_event(f"{REGISTRY}/agents/{agent}:{tag or fresh_tag()}")
    assert http.deliver([event]) == 202
    [record] = http.records_for(event["id"])
    return record


def fresh_tag() -> str:
    return f"1.{uuid.uuid4().int % 100_000}.0"


def decide(
    http: Http, deployment_id: str, action: str, body: Any = None, *, base: str | None = None, headers=None
):
    url = f"{base or http.info.deployer_url}/api/deployments/{deployment_id}/{action}"
    return http.request("POST", url, body, headers, raw=None if body is not None else b"")


def test_a_push_waits_for_approval_with_no_version_and_approve_starts_it(http):
    waiting = pushed(http, "approve-bot")
    assert waiting["status"] == "awaiting_approval" and waiting["version"] is None
    assert waiting["approval"]["decision"] is None and waiting["approval"]["expires_at"]
    before = http.versions_created("approve-bot")

    status, approved = decide(http, waiting["id"], "approve")
    again_status, again = decide(http, waiting["id"], "approve")
    done = http.wait_for(waiting["id"], {"active", "failed"})

    assert status == 200 and approved["status"] in ("creating", "pending"), approved
    assert again_status == 200 and again["id"] == waiting["id"]
    assert done["status"] == "active" and http.versions_created("approve-bot") == before + 1
    assert done["approval"]["decision"] == "approved" and done["approval"]["by"] == "function key"
    statuses = [h["status"] for h in done["history"]]
    assert statuses[:4] == ["image_checked", "awaiting_approval", "approved", "pending"]
    assert statuses[-1] == "active"


def test_reject_through_the_installed_cli_ends_it_rejected_with_the_reason(http):
    waiting = pushed(http, "approve-bot")
    before = http.versions_created("approve-bot")

    done = run("--url", http.info.deployer_url, "reject", waiting["id"], "--reason", "freeze week")
    again = run("--url", http.info.deployer_url, "approve", waiting["id"])
    record = http.api(f"deployments/{waiting['id']}")

    assert done.returncode == 1, done.stderr  # a rejected deployment ends the pipeline as failed
    assert f"approve-bot: rejected (approval_rejected)  [{waiting['id']}]" in done.stdout
    assert again.returncode != 0 and "was rejected by function key" in again.stderr
    assert record["approval"]["comment"] == "freeze week" and record["version"] is None
    assert http.versions_created("approve-bot") == before


def test_an_unanswered_request_expires_by_the_timer_poll_into_rejected_approval_expired(http):
    waiting = pushed(http, "expire-bot")

    ended = http.wait_for(waiting["id"], {"rejected"}, timeout_s=20)
    status, problem = decide(http, waiting["id"], "approve")

    assert ended["status"] == "rejected" and ended["reason"] == "approval_expired"
    assert ended["approval"]["decision"] == "expired" and ended["version"] is None
    assert status == 409 and problem["type"].endswith(":not-awaiting-approval"), problem
    assert http.versions_created("expire-bot") == 0


def test_a_newer_push_supersedes_the_one_still_waiting_which_can_no_longer_be_approved(http):
    older = pushed(http, "approve-bot")
    newer = pushed(http, "approve-bot")

    status, problem = decide(http, older["id"], "approve")
    superseded = http.api(f"deployments/{older['id']}")

    assert superseded["status"] == "superseded" and superseded["version"] is None
    assert http.api(f"deployments/{newer['id']}")["status"] == "awaiting_approval"
    assert status == 409 and "superseded" in problem["detail"], problem
    decide(http, newer["id"], "reject", {"reason": "test done"})


def test_bad_decisions_are_refused_and_change_nothing(http):
    waiting = pushed(http, "approve-bot")

    no_reason = decide(http, waiting["id"], "reject", {})
    unknown = decide(http, "0" * 19, "approve")
    too_long = decide(http, waiting["id"], "reject", {"reason": "x" * 501})

    assert no_reason[0] == 400 and no_reason[1]["errors"][0]["field"] == "reason"
    assert unknown[0] == 404
    assert too_long[0] == 400
    assert http.api(f"deployments/{waiting['id']}")["status"] == "awaiting_approval"
    decide(http, waiting["id"], "reject", {"reason": "test done"})


def test_with_easy_auth_only_a_listed_approver_may_decide_and_is_recorded(http, authed):
    waiting = pushed(http, "approvers-bot")

    anonymous = decide(http, waiting["id"], "approve", base=authed)
    writer = decide(
        http, waiting["id"], "approve", base=authed, headers=principal("eve@example.com", "Deployer.Write")
    )
    manager = decide(
        http, waiting["id"], "approve", base=authed, headers=principal("bo@example.com", "release-managers")
    )

    assert anonymous[0] == 401
    assert writer[0] == 403 and writer[1]["type"].endswith(":forbidden")
    assert "release-managers, lead@example.com" in writer[1]["detail"]
    assert manager[0] == 200 and manager[1]["approval"]["by"] == "bo@example.com"
    assert http.wait_for(waiting["id"], {"active", "failed"})["status"] == "active"


def test_approving_while_the_agent_is_paused_is_refused_by_the_cli_and_it_keeps_waiting(http):
    waiting = pushed(http, "approve-bot")
    url = http.info.deployer_url
    assert run("--url", url, "pause", "approve-bot").returncode == 0
    try:
        refused = run("--url", url, "approve", waiting["id"])
        record = http.api(f"deployments/{waiting['id']}")
    finally:
        assert run("--url", url, "resume", "approve-bot").returncode == 0

    assert refused.returncode == 3, refused.stderr
    assert "paused" in refused.stderr and "agent-deployer resume approve-bot" in refused.stderr
    assert record["status"] == "awaiting_approval" and record["version"] is None
    status, approved = decide(http, waiting["id"], "approve")
    assert status == 200 and approved["status"] in ("creating", "pending"), approved
    http.wait_for(waiting["id"], {"active", "failed"})
