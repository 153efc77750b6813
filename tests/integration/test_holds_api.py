"""Holds, pauses and rollback by traffic through the dev host (``/api/agents/{agent}/...``) and
the installed CLI (``agent-deployer``, a subprocess), on Azurite and the Foundry emulator: a
paused agent skips pushes, a rollback of a verified agent moves the traffic back without a new
version and holds the digest it left, and ``unhold`` lets that digest deploy again."""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import pytest

from deployer.cli.simulate import image_pushed_event
from tests.integration.helpers import run

pytestmark = pytest.mark.integration
REGISTRY = "myregistry.azurecr.io"


def image(agent: str, tag: str) -> str:
    return f"{REGISTRY}/agents/{agent}:{tag}"


def digest() -> str:
    return "sha256:" + uuid.uuid4().hex * 2


def push(http, agent: str, tag: str, *, at: str | None = None) -> dict:
    """Deliver an ACR push through the Event Grid webhook; the record it made."""
    event = image_pushed_event(image(agent, tag), digest=at)
    assert http.deliver([event]) == 202
    [record] = http.records_for(event["id"])
    return record


def selector_writes(http, agent: str) -> list[list[tuple[str, int]]]:
    """Every version selector the deployer wrote for ``agent`` on the emulator, in order."""
    found = []
    for r in http.emulator("GET", "requests")["requests"]:
        if r["method"] == "PATCH" and r["path"].endswith(f"/projects/local/agents/{agent}"):
            selector = ((r["body"] or {}).get("agent_endpoint") or {}).get("version_selector") or {}
            rules = selector.get("version_selection_rules") or []
            found.append([(x["agent_version"], x["traffic_percentage"]) for x in rules])
    return found


def agent_rows(table_rows) -> set:
    return {(row["PartitionKey"], row["RowKey"]) for row in table_rows}


@pytest.fixture(scope="module")
def url(http) -> str:
    return http.info.deployer_url


def test_a_paused_agent_skips_pushes_until_it_is_resumed(http, url):
    paused = run("--url", url, "pause", "hold-bot")
    assert paused.returncode == 0, paused.stderr
    assert "hold-bot: paused" in paused.stdout and "pushes are skipped" in paused.stdout
    assert json.loads(run("--url", url, "holds", "hold-bot", "--json").stdout)["paused"] is True
    again = run("--url", url, "pause", "hold-bot", "--json")  # repeating a pause changes nothing
    assert again.returncode == 0 and json.loads(again.stdout)["paused"] is True
    skipped = push(http, "hold-bot", "1.0.0")
    assert (skipped["status"], skipped["reason"]) == ("skipped", "paused")

    resumed = run("--url", url, "resume", "hold-bot")
    assert resumed.returncode == 0 and "hold-bot: running" in resumed.stdout, resumed.stderr
    assert http.api("agents/hold-bot/holds") == {"items": [], "paused": False}
    deployed = push(http, "hold-bot", "1.1.0")
    assert deployed["status"] in ("pending", "creating")
    assert http.wait_for(deployed["id"], {"active", "failed"})["status"] == "active"


def test_a_verified_agent_rolls_back_by_traffic_and_holds_the_digest_it_left(http, url):
    http.seed(image("verified-bot", "1"))
    first = run("--url", url, "deploy", "verified-bot", image("verified-bot", "1"), "--wait")
    assert first.returncode == 0, first.stderr
    assert ": verified" in first.stdout and ": verified (version" in first.stderr.splitlines()[-1]
    left = digest()
    http.seed(image("verified-bot", f"build-{left[-8:]}"), digest=left)  # pushed, then deployed by digest
    second = run(
        "--url", url, "deploy", "verified-bot", f"{REGISTRY}/agents/verified-bot@{left}", "--wait", "--json"
    )
    assert second.returncode == 0, second.stderr
    newer = json.loads(second.stdout.splitlines()[-1])  # JSON Lines: started, then the end state
    assert (newer["status"], newer["smoke"]["status"], newer["rollout"]) == ("verified", "passed", "verified")
    created = http.versions_created("verified-bot")

    back = run("--url", url, "rollback", "verified-bot", "--wait", "--json", "--reason", "bad answers")
    assert back.returncode == 0, back.stderr
    record = json.loads(back.stdout.splitlines()[-1])
    assert (record["status"], record["rollout"], record["source"]) == ("active", "instant", "rollback")
    assert (record["version"], record["reason"]) == (str(int(newer["version"]) - 1), "bad answers")
    assert record["history"][0]["note"].startswith(f"held {left}")
    assert http.versions_created("verified-bot") == created  # instant: no new version
    assert selector_writes(http, "verified-bot")[-1] == [(record["version"], 100)]
    assert http.api(f"deployments/{newer['id']}")["status"] == "superseded"

    held = json.loads(run("--url", url, "holds", "verified-bot", "--json").stdout)
    assert [(h["digest"], h["reason"], h["deployment_id"]) for h in held["items"]] == [
        (left, "rollback", record["id"])
    ]
    table = run("--url", url, "holds", "verified-bot").stdout
    assert left in table and "rollback" in table
    redelivered = push(http, "verified-bot", "2", at=left)
    assert (redelivered["status"], redelivered["reason"]) == ("skipped", "held")

    released = run("--url", url, "unhold", "verified-bot", left)
    assert released.returncode == 0 and "released the hold" in released.stdout, released.stderr
    assert "was not held" in run("--url", url, "unhold", "verified-bot", left).stdout
    assert "no digests held" in run("--url", url, "holds", "verified-bot").stdout
    after = push(http, "verified-bot", "3", at=left)  # released: the digest deploys again
    assert after["status"] in ("pending", "creating"), after


def test_a_digest_can_be_released_with_or_without_percent_encoding(http):
    for path_digest in (digest(), quote(digest(), safe="")):
        status, answer = http.request(
            "POST", f"{http.info.deployer_url}/api/agents/hold-bot/holds/{path_digest}/release"
        )
        assert (status, answer) == (200, {"released": False})


REFUSALS = [
    ("a malformed digest", "POST", "agents/hold-bot/holds/sha256:XYZ/release", {}, 400, "invalid-query"),
    (
        "an upper-case digest",
        "POST",
        f"agents/hold-bot/holds/sha256:{'A' * 64}/release",
        {},
        400,
        "invalid-query",
    ),
    (
        "an unknown agent's hold",
        "POST",
        f"agents/nobody/holds/sha256:{'a' * 64}/release",
        {},
        404,
        "unknown-agent",
    ),
    ("an unknown agent's holds", "GET", "agents/nobody/holds", {}, 404, "unknown-agent"),
    ("pausing an unknown agent", "POST", "agents/nobody/pause", {}, 404, "unknown-agent"),
    ("resuming a bad agent name", "POST", "agents/-x-/resume", {}, 400, "invalid-query"),
]


@pytest.mark.parametrize(
    ("case", "method", "path", "headers", "status", "slug"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_a_refused_hold_or_pause_request_is_a_problem_and_changes_nothing(
    http, case, method, path, headers, status, slug
):
    before = http.api("agents/hold-bot/holds")
    answer_status, problem = http.request(method, f"{http.info.deployer_url}/api/{path}", headers=headers)
    assert (answer_status, problem["status"]) == (status, status), problem
    assert problem["type"].endswith(slug) and problem["detail"]
    assert http.api("agents/hold-bot/holds") == before


def test_the_cli_exits_3_when_the_deployer_refuses_a_hold_command(url):
    refused = run("--url", url, "unhold", "nobody", "sha256:" + "a" * 64)
    assert refused.returncode == 3 and "no agent 'nobody' is configured" in refused.stderr
    unheld = run("--url", url, "unhold", "hold-bot", "AAAAAAAAAAAAA")  # a prefix no held digest has
    assert unheld.returncode == 3 and "hold-bot: no held digest starts with aaaaaaaaaaaaa" in unheld.stderr
    malformed = run("--url", url, "unhold", "hold-bot", "sha256:nope")  # refused before asking
    assert malformed.returncode == 4 and "at least its first 12 hex digits" in malformed.stderr
    unknown = run("--url", url, "pause", "nobody")
    assert unknown.returncode == 3 and "no agent 'nobody' is configured" in unknown.stderr
