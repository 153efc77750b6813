"""The HTTP API through the dev host, Azurite and the Foundry emulator: every route, every
refusal with nothing written, Idempotency-Key, rollback, App Service Authentication and the
OpenAPI document."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import pytest
from azure.data.tables import TableClient

import function_app
from deployer.adapters.table_layout import OPEN
from deployer.entrypoints.http import fallback, openapi, paging
from deployer.entrypoints.http.requests import deployments_scope
from localdev.devhost.index import index_app

REGISTRY = "myregistry.azurecr.io"


@pytest.fixture(scope="module")
def table(http):
    with TableClient.from_connection_string(http.info.table_connection_string, "deployments") as client:
        yield client


def url(http, path: str) -> str:
    return f"{http.info.deployer_url}/api/{path}"


def post(http, path, body=None, headers=None, raw=None):
    return http.request("POST", url(http, path), body, headers, raw=raw)


def deploy(http, agent, tag, **fields):
    http.seed(f"{REGISTRY}/agents/{agent}:{tag}")
    status, body = post(
        http, "deployments", {"agent": agent, "image": f"{REGISTRY}/agents/{agent}:{tag}", **fields}
    )
    assert status == 202, body
    return body


def written(http, table):
    """What a request can write: every row but the open-work index, and versions
    created in Foundry. (The poll only updates rows, so it cannot change this.)"""
    rows = table.list_entities(select=["PartitionKey", "RowKey"])
    keys = {(row["PartitionKey"], row["RowKey"]) for row in rows if not row["RowKey"].startswith(OPEN)}
    log = http.emulator("GET", "requests")["requests"]
    creates = sum(1 for r in log if r["method"] == "POST" and r["path"].endswith("/versions"))
    return keys, creates


def test_a_manual_deploy_is_recorded_and_tracked_like_a_push(http):
    before = http.versions_created("manual-bot")
    digest = http.seed(f"{REGISTRY}/agents/manual-bot:1.4.0")
    status, body = http.request(
        "POST",
        url(http, "deployments"),
        {
            "agent": "manual-bot",
            "image": f"{REGISTRY}/agents/manual-bot:1.4.0",
            "environment_variables": {"LOG_LEVEL": "debug"},
            "reason": "hotfix for incident 42",
        },
    )
    assert status == 202
    assert (body["status"], body["source"], body["reason"]) == (
        "creating",
        "manual",
        "hotfix for incident 42",
    )
    assert http.api(f"deployments/{body['id']}")["id"] == body["id"]
    done = http.wait_for(body["id"], {"active", "failed"})
    assert [h["status"] for h in done["history"]] == ["pending", "image_checked", "creating", "active"]
    assert (done["digest"], done["image_check"]["result"]) == (digest, "found")
    assert http.versions_created("manual-bot") == before + 1
    [create] = [
        r
        for r in http.emulator("GET", "requests")["requests"]
        if r["method"] == "POST" and r["path"].endswith("/agents/manual-bot/versions")
    ][-1:]
    assert create["body"]["definition"]["environment_variables"] == {
        "MODEL_DEPLOYMENT_NAME": "gpt-5-mini",
        "LOG_LEVEL": "debug",
    }


def test_the_location_header_names_the_deployment(http):
    request_headers = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"agent": "manual-bot", "image": f"{REGISTRY}/agents/manual-bot:1.4.1"}
    http.seed(body["image"])
    req = urllib.request.Request(
        url(http, "deployments"),
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **request_headers},
    )
    with urllib.request.urlopen(req, timeout=30) as answer:
        created = json.loads(answer.read())
        assert answer.status == 202
        assert answer.headers["Location"] == f"/api/deployments/{created['id']}"
        assert answer.headers["Content-Type"].startswith("application/json")


def test_a_manual_deploy_may_go_below_the_highest_version_on_purpose(http):
    newer = deploy(http, "manual-bot", "3.0.0")
    http.wait_for(newer["id"], {"active"})
    older = deploy(http, "manual-bot", "1.0.0")
    assert (older["status"], older["reason"]) == ("creating", None)  # not skipped older_than_active


def test_the_same_idempotency_key_and_body_answer_as_the_first_time(http, table):
    headers = {"Idempotency-Key": f"pipeline-{uuid.uuid4()}"}
    body = {"agent": "manual-bot", "image": f"{REGISTRY}/agents/manual-bot:2.0.0"}
    http.seed(body["image"])
    before = http.versions_created("manual-bot")
    first = post(http, "deployments", body, headers)
    again = post(http, "deployments", dict(reversed(body.items())), headers)
    assert first[0] == again[0] == 202 and first[1]["id"] == again[1]["id"]
    assert http.versions_created("manual-bot") == before + 1
    snapshot = written(http, table)
    other = post(http, "deployments", {**body, "image": body["image"] + "-rc"}, headers)
    assert other[0] == 409 and other[1]["type"].endswith("idempotency-key-reused")
    assert written(http, table) == snapshot


def image(agent: str, tag: str = "1.0.0", registry: str = REGISTRY) -> str:
    return f"{registry}/agents/{agent}:{tag}"


OK_BODY = json.dumps({"agent": "manual-bot", "image": image("manual-bot")}).encode()
REFUSALS = [
    ("invalid JSON", "deployments", b"{nope", {}, 400, "invalid-body"),
    ("a JSON array", "deployments", b"[]", {}, 400, "invalid-body"),
    ("an unknown field", "deployments", OK_BODY[:-1] + b', "cpu": "4"}', {}, 400, "invalid-body"),
    (
        "an image that does not parse",
        "deployments",
        json.dumps({"agent": "manual-bot", "image": "manual-bot:latest"}).encode(),
        {},
        400,
        "invalid-body",
    ),
    (
        "a registry not allowed",
        "deployments",
        json.dumps(
            {"agent": "manual-bot", "image": image("manual-bot", registry="evil.azurecr.io")}
        ).encode(),
        {},
        403,
        "registry-not-allowed",
    ),
    (
        "an unknown agent",
        "deployments",
        json.dumps({"agent": "nobody", "image": image("manual-bot")}).encode(),
        {},
        404,
        "unknown-agent",
    ),
    (
        "a body over 64 KiB",
        "deployments",
        OK_BODY[:-1] + b', "reason": "' + b"x" * 70_000 + b'"}',
        {},
        413,
        None,
    ),
    ("the wrong content type", "deployments", OK_BODY, {"Content-Type": "text/plain"}, 415, None),
    (
        "an environment variable the agent does not configure",
        "deployments",
        json.dumps(
            {"agent": "manual-bot", "image": image("manual-bot"), "environment_variables": {"API_KEY": "x"}}
        ).encode(),
        {},
        422,
        "not-allowed-by-config",
    ),
    (
        "another agent's repository",
        "deployments",
        json.dumps({"agent": "manual-bot", "image": image("rollback-bot")}).encode(),
        {},
        422,
        "not-allowed-by-config",
    ),
    ("a bad Idempotency-Key", "deployments", OK_BODY, {"Idempotency-Key": "x" * 300}, 400, "invalid-header"),
    ("a rollback of an unknown agent", "agents/nobody/rollback", b"", {}, 404, "unknown-agent"),
    ("a rollback with nothing before", "agents/idle-bot/rollback", b"", {}, 409, "nothing-to-roll-back-to"),
    (
        "a rollback to an unknown version",
        "agents/manual-bot/rollback",
        b'{"to": "999"}',
        {},
        404,
        "not-found",
    ),
    (
        "a rollback with a bad target",
        "agents/manual-bot/rollback",
        b'{"to": "../1"}',
        {},
        400,
        "invalid-body",
    ),
]


@pytest.mark.parametrize(
    ("case", "path", "raw", "headers", "status", "slug"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_a_refused_request_is_a_problem_and_writes_nothing(
    http, table, case, path, raw, headers, status, slug
):
    before = written(http, table)
    answer_status, problem = post(
        http, path, raw=raw, headers={"Idempotency-Key": str(uuid.uuid4()), **headers}
    )
    assert (answer_status, problem["status"]) == (status, status), problem
    assert problem["type"].startswith("urn:agent-deployer:problem:") and problem["detail"]
    if slug:
        assert problem["type"].endswith(slug)
    assert written(http, table) == before


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("deployments?limit=0", 400),
        ("deployments?status=done", 400),
        ("deployments?next=not%20a%20token", 400),
        ("deployments/0000000000000abcdef", 404),
        ("deployments/not-an-id", 400),
    ],
)
def test_bad_reads_are_problems(http, path, status):
    answer_status, problem = http.request("GET", url(http, path))
    assert (answer_status, problem["status"]) == (status, status)


def test_rollback_goes_back_to_the_previous_active_image(http):
    first = deploy(http, "rollback-bot", "1.0.0")
    http.wait_for(first["id"], {"active"})
    second = deploy(http, "rollback-bot", "1.1.0")
    http.wait_for(second["id"], {"active"})
    created = http.versions_created("rollback-bot")
    status, back = post(http, "agents/rollback-bot/rollback", raw=b"", headers={"Content-Type": ""})
    assert status == 202 and (back["source"], back["image"]) == ("rollback", first["image"])
    # Version 1 still runs: the traffic moves back to it at once and nothing is created.
    assert (back["status"], back["rollout"], back["version"]) == ("active", "instant", first["version"])
    assert http.versions_created("rollback-bot") == created
    assert back["reason"].startswith(f"rollback to deployment {first['id']}")
    assert http.wait_for(back["id"], {"active"})["status"] == "active"
    assert http.api(f"deployments/{second['id']}")["status"] == "superseded"
    agents = {a["name"]: a for a in http.api("agents")["items"]}
    assert agents["rollback-bot"]["active"]["id"] == back["id"]

    status, named = post(
        http, "agents/rollback-bot/rollback", {"to": second["version"], "reason": "forward again"}
    )
    assert status == 202 and named["image"] == second["image"] and named["reason"] == "forward again"


def test_deployments_are_listed_newest_first_in_pages(http):
    first = http.api("deployments?agent=manual-bot&limit=2")
    assert len(first["items"]) == 2 and first["next"]
    second = http.api(f"deployments?agent=manual-bot&limit=2&next={first['next']}")
    ids = [d["id"] for d in first["items"] + second["items"]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(
        d["status"] == "active" for d in http.api("deployments?agent=manual-bot&status=active")["items"]
    )


def test_agents_show_the_configuration_without_secret_values(http):
    agents = {a["name"]: a for a in http.api("agents")["items"]}
    assert agents["manual-bot"]["environment_variables"] == ["LOG_LEVEL", "MODEL_DEPLOYMENT_NAME"]
    assert agents["idle-bot"]["active"] is None
    assert "gpt-5-mini" not in json.dumps(agents)


def test_health_is_200_and_503_when_foundry_does_not_answer(http, emulator_settings):
    healthy = http.api("health")
    assert healthy["status"] == "ok"
    assert {c["name"] for c in healthy["checks"]} == {"table_storage", "foundry"}
    emulator_settings(
        faults=[{"method": "GET", "path": "/projects/local/agents$", "status": 503, "count": 1}]
    )
    status, report = http.request("GET", url(http, "health"))
    assert status == 503 and report["status"] == "unavailable"
    [down] = [c for c in report["checks"] if c["status"] != "ok"]
    assert (down["name"], down["target"]) == ("foundry", http.info.foundry_endpoint)


def test_the_served_openapi_document_covers_every_registered_route(http):
    served = http.api("openapi.json")
    assert served == openapi.document()
    registered: dict[str, set[str]] = {}
    for function in index_app(function_app.app, {}).http:
        if function.route.template == fallback.CATCH_ALL:
            continue  # answers what no documented route takes (404 / 405)
        assert function.methods, f"{function.name} must name its methods"
        path = "/api/" + function.route.template.strip("/")
        registered.setdefault(path, set()).update(m.lower() for m in function.methods)
    assert {path: set(item) for path, item in served["paths"].items()} == registered


def test_notifications_are_listed_and_an_unknown_one_is_not_redelivered(http):
    # This stack's config has no subscribers; dead entries: tests/integration/test_notifications_api.py.
    assert http.api("notifications?state=dead&limit=10") == {"items": [], "next": None}
    status, problem = post(http, "notifications/0000000000000abcdef.creating.w0/redeliver", raw=b"")
    assert (status, problem["status"]) == (404, 404) and problem["type"].endswith("not-found")
    status, problem = http.request("GET", url(http, "notifications?status=dead"))
    assert status == 400 and problem["detail"] == "unknown query parameter(s): status"


def test_an_idempotency_key_that_met_a_503_starts_the_work_when_retried(http, emulator_settings):
    first = deploy(http, "idem-bot", "1.0.0")
    http.wait_for(first["id"], {"active"})
    second = deploy(http, "idem-bot", "1.1.0")
    http.wait_for(second["id"], {"active"})
    headers = {"Idempotency-Key": f"rollback-{uuid.uuid4()}"}
    # Foundry cannot say whether version 1 still runs (through the SDK's retries): nothing starts.
    fault = {"method": "GET", "path": f"/agents/idem-bot/versions/{first['version']}$", "status": 503}
    emulator_settings(faults=[{**fault, "count": 50}])
    status, problem = post(http, "agents/idem-bot/rollback", raw=b"", headers={**headers, "Content-Type": ""})
    assert status == 503 and problem["type"].endswith(":unavailable"), problem
    emulator_settings(faults=[])
    status, back = post(http, "agents/idem-bot/rollback", raw=b"", headers={**headers, "Content-Type": ""})
    assert status == 202 and (back["source"], back["version"]) == ("rollback", first["version"]), back
    status, again = post(http, "agents/idem-bot/rollback", raw=b"", headers={**headers, "Content-Type": ""})
    assert status == 202 and again["id"] == back["id"]


def test_a_page_of_exactly_the_rows_left_has_no_next_token(http):
    every = http.api("deployments?agent=manual-bot&limit=200")["items"]
    assert 2 <= len(every) < 200
    whole = http.api(f"deployments?agent=manual-bot&limit={len(every)}")
    assert [d["id"] for d in whole["items"]] == [d["id"] for d in every] and whole["next"] is None
    first = http.api(f"deployments?agent=manual-bot&limit={len(every) - 1}")
    last = http.api(f"deployments?agent=manual-bot&limit=1&next={first['next']}")
    assert [d["id"] for d in last["items"]] == [every[-1]["id"]] and last["next"] is None


def test_a_forged_page_token_is_refused(http):
    first = http.api("deployments?agent=manual-bot&limit=1")
    other_filter = http.request(
        "GET", url(http, f"deployments?agent=rollback-bot&limit=1&next={first['next']}")
    )
    missing_row = paging.token("0" * 19, deployments_scope("manual-bot", None))
    forged_row = http.request("GET", url(http, f"deployments?agent=manual-bot&next={missing_row}"))
    for status, problem in (other_filter, forged_row):
        assert status == 400 and problem["type"].endswith(":invalid-query"), problem


def test_a_known_route_with_another_method_answers_405_with_allow(http):
    request = urllib.request.Request(url(http, "agents/manual-bot/holds"), method="DELETE")
    try:
        urllib.request.urlopen(request, timeout=30)
    except urllib.error.HTTPError as refused:
        assert refused.code == 405 and refused.headers["Allow"] == "GET"
        assert refused.headers["Content-Type"] == "application/problem+json"
    else:
        raise AssertionError("DELETE was accepted")
