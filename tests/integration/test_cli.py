"""The installed CLI (``.venv/bin/agent-deployer``, a subprocess) against the local stack: exit codes of
``deploy --wait`` for active, failed and timed out, refusals, and every read command."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.integration.helpers import run

REGISTRY = "myregistry.azurecr.io"


@pytest.fixture(scope="module")
def url(http) -> str:
    return http.info.deployer_url


def image(agent: str, tag: str) -> str:
    return f"{REGISTRY}/agents/{agent}:{tag}"


def pushed(http, agent: str, tag: str) -> str:
    """The image, put in the registry first (as ``docker push`` would)."""
    ref = image(agent, tag)
    http.seed(ref)
    return ref


def fresh_tag(major: int = 1) -> str:
    return f"{major}.{uuid.uuid4().int % 10_000}.0"


def test_deploy_wait_exits_0_when_active_with_live_progress(http, url):
    pushing = pushed(http, "cli-bot", fresh_tag())
    done = run("--url", url, "deploy", "cli-bot", pushing, "--wait", "--reason", "cli test")
    assert done.returncode == 0, done.stderr
    assert ": active" in done.stdout and "in " in done.stdout
    progress = done.stderr.splitlines()
    assert any(": creating (version" in line for line in progress)
    assert ": active (version" in progress[-1]


def test_deploy_wait_exits_1_when_the_version_fails(http, url, emulator_settings):
    failing = pushed(http, "cli-bot", fresh_tag())
    emulator_settings(failing_images={failing: "image_pull_failed"})
    done = run("deploy", "cli-bot", failing, "--wait", "--url", url)
    assert done.returncode == 1, done.stderr
    assert ": failed" in done.stdout
    assert "image_pull_failed" in done.stderr and "Container Registry Repository Reader" in done.stderr


def test_deploy_wait_exits_1_when_the_image_is_not_in_the_registry(url):
    done = run("deploy", "cli-bot", image("cli-bot", fresh_tag()), "--wait", "--url", url)
    assert done.returncode == 1, done.stderr
    assert ": failed" in done.stdout
    assert "image_not_found" in done.stderr and f"not in registry {REGISTRY}" in done.stderr


def test_deploy_wait_exits_2_when_the_version_times_out(http, url, emulator_settings):
    emulator_settings(provision_delay_s=None)
    slow = pushed(http, "cli-slow", "slow-1")
    done = run("deploy", "cli-slow", slow, "--wait", "--json", env={"DEPLOYER_URL": url})
    assert done.returncode == 2, done.stderr
    started, ended = (json.loads(line) for line in done.stdout.splitlines())
    assert started["id"] == ended["id"] and ended["status"] == "timed_out"


def test_deploy_wait_exits_2_when_the_wait_runs_out_first(http, url, emulator_settings):
    emulator_settings(provision_delay_s=None)
    slow = pushed(http, "cli-slow", "slow-2")
    done = run("--url", url, "deploy", "cli-slow", slow, "--wait", "--timeout", "0.5")
    assert done.returncode == 2, done.stderr
    assert ": creating" in done.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["deploy", "nobody", image("cli-bot", "1.0.0")], "no agent 'nobody' is configured"),
        (["deploy", "cli-bot", "evil.azurecr.io/agents/cli-bot:1.0.0"], "not in the allow-list"),
        (["deploy", "cli-bot", "not-an-image"], "image: 'not-an-image' is not an image reference"),
        (["rollback", "idle-bot"], "no earlier active deployment"),
        (["status", "0000000000000abcdef"], "no deployment 0000000000000abcdef"),
    ],
)
def test_a_refusal_exits_3_with_the_problem_detail(http, url, argv, message):
    before = http.versions_created("cli-bot")
    done = run("--url", url, *argv)
    assert done.returncode == 3, done.stderr
    assert message in done.stderr
    assert http.versions_created("cli-bot") == before


def test_rollback_wait_goes_back_and_exits_0(http, url):
    first, second = fresh_tag(2), fresh_tag(3)
    assert run("--url", url, "deploy", "cli-bot", pushed(http, "cli-bot", first), "--wait").returncode == 0
    assert run("--url", url, "deploy", "cli-bot", pushed(http, "cli-bot", second), "--wait").returncode == 0
    done = run("--url", url, "rollback", "cli-bot", "--wait", "--json")
    assert done.returncode == 0, done.stderr
    back = json.loads(done.stdout.splitlines()[-1])
    assert (back["source"], back["tag"], back["status"]) == ("rollback", first, "active")


def test_read_commands_print_tables_or_json(http, url):
    started = json.loads(
        run("--url", url, "deploy", "cli-bot", pushed(http, "cli-bot", fresh_tag()), "--json").stdout
    )
    status = run("--url", url, "status", started["id"])
    assert status.returncode == 0 and f"id:             {started['id']}" in status.stdout
    assert "history:" in status.stdout
    assert json.loads(run("--url", url, "status", started["id"], "--json").stdout)["id"] == started["id"]
    listed = run("--url", url, "list", "--agent", "cli-bot", "--limit", "2", "--json")
    page = json.loads(listed.stdout)
    assert page["items"][0]["id"] == started["id"] and page["next"]
    table = run("list", "--agent", "cli-bot", "--url", url)
    assert table.stdout.splitlines()[0].split() == [
        "ID",
        "AGENT",
        "STATUS",
        "VERSION",
        "SOURCE",
        "CREATED",
        "IMAGE",
    ]
    agents = run("--url", url, "agents")
    assert any(line.startswith("cli-bot ") for line in agents.stdout.splitlines())
    assert {a["name"] for a in json.loads(run("--url", url, "agents", "--json").stdout)["items"]} >= {
        "cli-bot"
    }
    health = run("--url", url, "health")
    assert health.returncode == 0 and health.stdout.startswith("deployer: ok")


def test_simulate_push_pushes_the_image_then_posts_an_event_the_deployer_deploys(http, url):
    pushing = image("cli-bot", fresh_tag(4))
    registry = ("--registry-endpoint", http.info.registry_endpoint)
    env = {"SSL_CERT_FILE": http.info.foundry_ca_bundle}
    done = run("--url", url, "simulate-push", pushing, *registry, "--schema", "cloudevents", env=env)
    assert done.returncode == 0, done.stderr
    event_id = done.stdout.split("(event ")[1].split(")")[0]
    [record] = http.records_for(event_id)
    assert record["agent"] == "cli-bot" and record["source"] == "event"
    [held] = [i for i in http.registry("GET", "images")["images"] if i["image"] == pushing]
    assert record["digest"] == held["digest"] and record["status"] in ("creating", "active")
    assert f"): cli-bot version {record['version']}: creating" in done.stdout or ": active" in done.stdout


def test_a_push_the_deployer_skips_says_what_it_decided_and_exits_3(http, url):
    done = run("--url", url, "simulate-push", f"{REGISTRY}/agents/nobody-deploys-this:1.0.0")
    assert done.returncode == 3, done.stderr
    assert ": skipped (no_matching_rule)" in done.stdout


def test_a_short_image_is_completed_from_the_agent_and_status_of_the_agent_shows_it(http, url):
    tag = fresh_tag(5)
    pushed(http, "cli-bot", tag)
    done = run("--url", url, "deploy", "cli-bot", f":{tag}", "--json")
    assert done.returncode == 0, done.stderr
    started = json.loads(done.stdout)
    assert started["image"] == image("cli-bot", tag)
    latest = json.loads(run("--url", url, "status", "cli-bot", "--json").stdout)
    assert latest["id"] == started["id"]


def test_listing_an_unknown_agent_is_refused(url):
    done = run("--url", url, "list", "--agent", "nosuch", "--json")
    assert done.returncode == 3
    assert json.loads(done.stdout)["type"].endswith("unknown-agent")
    assert "no agent 'nosuch' is configured" in done.stderr


def test_config_check_works_offline(tmp_path):
    valid = run(
        "config", "check", str(Path(__file__).parent / "deployer.test.yaml"), "--url", "http://127.0.0.1:9"
    )
    assert valid.returncode == 0 and "ok (" in valid.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("registries: [myregistry.azurecr.io]\nagents:\n  - name: x\n    tags: 'semver:banana'\n")
    invalid = run("config", "check", str(bad))
    assert invalid.returncode == 1
    assert "agents[0].repository" in invalid.stderr and "agents[0].tags" in invalid.stderr


def test_notifications_and_redeliver_against_a_deployer_without_subscribers(url):
    # Dead entries and their redelivery: tests/integration/test_notifications_api.py.
    listed = run("--url", url, "notifications", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == {"items": [], "next": None}
    header = run("--url", url, "notifications", "--state", "dead").stdout.splitlines()[0]
    assert header.split() == ["ID", "STATE", "TYPE", "AGENT", "SUBSCRIBER", "TRIES", "LAST", "WHEN"]
    refused = run("--url", url, "redeliver", "0000000000000abcdef.creating.w0")
    assert refused.returncode == 3 and "404" in refused.stderr


def test_text_others_wrote_reaches_the_terminal_without_control_sequences(http, url):
    hostile = "\x1b]8;;https://evil.example\x07the runbook\x1b]8;;\x07\x1b[2J\r\u202eok"
    body = {"agent": "cli-bot", "image": image("cli-bot", fresh_tag()), "reason": hostile}
    status, started = http.request("POST", f"{url}/api/deployments", body)
    assert status == 202, started
    shown = run("--url", url, "status", started["id"])
    assert shown.returncode in (0, 1, 2), shown.stderr
    assert "the runbook" in shown.stdout and "ok" in shown.stdout
    for unsafe in ("\x1b", "\x07", "\r", "\u202e"):
        assert unsafe not in shown.stdout + shown.stderr
    as_json = run("--url", url, "status", started["id"], "--json")
    assert json.loads(as_json.stdout)["reason"] == hostile  # JSON keeps the text, escaped


def test_config_explain_reads_the_agents_state_from_the_deployer(url):
    config = str(Path(__file__).parent / "deployer.test.yaml")
    explain = ("config", "explain", image("cli-bot", "999.0.0"), "--file", config, "--json")
    assert run("--url", url, "pause", "cli-bot").returncode == 0
    try:
        paused = run("--url", url, *explain)
    finally:
        assert run("--url", url, "resume", "cli-bot").returncode == 0
    resumed = run("--url", url, *explain)
    decided = [{d["agent"]: d for d in json.loads(done.stdout)["agents"]} for done in (paused, resumed)]
    assert (paused.returncode, decided[0]["cli-bot"]["reason"]) == (3, "paused"), paused.stderr
    assert (resumed.returncode, decided[1]["cli-bot"]["decision"]) == (0, "deploy"), resumed.stderr
    assert "unless" not in decided[1]["cli-bot"]
    offline = run(*explain)
    assert "unless" in {d["agent"]: d for d in json.loads(offline.stdout)["agents"]}["cli-bot"]


def test_a_refused_short_form_with_json_is_a_problem_document(url):
    done = run("--url", url, "abort", "cli-bot", "--json")
    assert done.returncode == 3
    problem = json.loads(done.stdout)
    assert problem["type"] == "urn:agent-deployer:problem:refused" and problem["status"] is None
    assert problem["detail"] == "cli-bot: no canary is running"
