"""Reading request bodies, queries and headers into values (deployer.api.requests)."""

from __future__ import annotations

import json

import pytest

from deployer.config.parser import parse_config
from deployer.domain.errors import Refused
from deployer.entrypoints.http import paging
from deployer.entrypoints.http.problems import problem_for
from deployer.entrypoints.http.requests import (
    MAX_BODY_BYTES,
    JsonBody,
    deployments_scope,
    notifications_scope,
    parse_deploy,
    parse_deployment_id,
    parse_idempotency_key,
    parse_list_query,
    parse_notification_id,
    parse_notifications_query,
    parse_rollback,
    read_json,
)
from tests.unit import conftest

IMAGE = "myregistry.azurecr.io/agents/bot:1.0.0"
CONFIG = parse_config(conftest.CONFIG, {})


def deploy(raw: JsonBody):
    return parse_deploy(raw, CONFIG)


def body(document) -> JsonBody:
    return read_json(json.dumps(document).encode(), "application/json", required=True)


def refusal(call, *args):
    with pytest.raises(Refused) as refused:
        call(*args)
    return problem_for(refused.value)


def test_a_deploy_body_becomes_a_request():
    parsed = deploy(
        body({"agent": "bot", "image": IMAGE, "environment_variables": {"A": "1"}, "reason": "why"})
    )
    assert (parsed.agent, parsed.image.tag, parsed.environment_variables, parsed.reason) == (
        "bot",
        "1.0.0",
        {"A": "1"},
        "why",
    )


def test_every_field_problem_is_reported_at_once():
    problem = refusal(deploy, body({"agent": 3, "image": "not an image", "colour": "red"}))
    assert problem.status == 400 and problem.slug == "invalid-body"
    assert {e["field"] for e in problem.extra["errors"]} == {"agent", "image", "colour"}
    assert "registry/repository:tag" in problem.detail and "unknown field" in problem.detail


@pytest.mark.parametrize(
    "document",
    [
        {"agent": "bot"},
        {"agent": "bot", "image": IMAGE, "environment_variables": {"A": 1}},
        {"agent": "bot", "image": IMAGE, "environment_variables": ["A"]},
        {"agent": "bot", "image": IMAGE, "reason": "x" * 501},
        {"agent": "-bad-", "image": IMAGE},
    ],
)
def test_malformed_fields_are_refused(document):
    assert refusal(deploy, body(document)).slug == "invalid-body"


@pytest.mark.parametrize(
    ("raw", "content_type", "slug", "status"),
    [
        (b"{", "application/json", "invalid-body", 400),
        (b"[1, 2]", "application/json", "invalid-body", 400),
        (b'{"agent": "bot"}', "text/plain", "unsupported-media-type", 415),
        (b'{"agent": "bot"}', None, "unsupported-media-type", 415),
        (b"{" + b" " * MAX_BODY_BYTES + b"}", "application/json", "body-too-large", 413),
    ],
)
def test_bodies_that_are_not_a_json_object_are_refused(raw, content_type, slug, status):
    problem = refusal(lambda: read_json(raw, content_type, required=True))
    assert (problem.slug, problem.status) == (slug, status)


def test_json_with_a_charset_or_a_json_suffix_is_accepted():
    assert read_json(b"{}", "application/json; charset=utf-8", required=True).document == {}
    assert read_json(b"{}", "application/merge-patch+json", required=True).document == {}


def test_an_optional_body_may_be_empty_without_a_content_type():
    assert read_json(b"", None, required=False).document == {}


def test_the_body_digest_ignores_whitespace_and_key_order():
    a = read_json(b'{"a": 1, "b": 2}', "application/json", required=True)
    b = read_json(b'{"b":2,"a":1}', "application/json", required=True)
    c = read_json(b'{"b":3,"a":1}', "application/json", required=True)
    assert a.sha256 == b.sha256 != c.sha256


def test_a_rollback_body_names_a_deployment_or_version():
    assert parse_rollback("bot", body({"to": "3"})).to == "3"
    assert parse_rollback("bot", read_json(b"", None, required=False)).to is None
    assert refusal(parse_rollback, "bot", body({"to": "../x"})).slug == "invalid-body"
    assert refusal(parse_rollback, "bot", body({"image": IMAGE})).slug == "invalid-body"
    assert refusal(parse_rollback, "no/such", body({})).slug == "invalid-query"


def test_the_list_query_has_defaults_and_limits():
    query = parse_list_query({})
    assert (query.agent, query.status, query.limit, query.next) == (None, None, 50, None)
    assert parse_list_query({"agent": "bot", "status": "active", "limit": "5", "code": "k"}).limit == 5


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "ten"},
        {"status": "done"},
        {"next": "a b"},
        {"colour": "x"},
    ],
)
def test_a_bad_list_query_is_refused(params):
    assert refusal(parse_list_query, params).status == 400


def test_ids_and_idempotency_keys_are_checked():
    assert parse_deployment_id("abc123") == "abc123"
    assert refusal(parse_deployment_id, "a/b").slug == "invalid-query"
    assert parse_idempotency_key(None) is None
    assert parse_idempotency_key("run-42") == "run-42"
    assert refusal(parse_idempotency_key, "x" * 256).slug == "invalid-header"
    assert refusal(parse_idempotency_key, "bad\x01").slug == "invalid-header"


def test_the_notifications_query_has_defaults_and_limits():
    query = parse_notifications_query({})
    assert (query.state, query.limit, query.next) == (None, 50, None)
    entry_id = "8199999999999abcdef.timed_out.w0123456789abcdef0123"
    token = paging.token(entry_id, notifications_scope("dead"))
    parsed = parse_notifications_query({"state": "dead", "limit": "200", "next": token, "code": "k"})
    assert (parsed.state, parsed.limit, parsed.next) == ("dead", 200, entry_id)
    assert parse_notification_id(entry_id) == entry_id


@pytest.mark.parametrize(
    "params",
    [{"state": "failed"}, {"status": "dead"}, {"limit": "201"}, {"next": "abc"}, {"next": "a.b.c/d"}],
)
def test_a_bad_notifications_query_is_refused(params):
    assert refusal(parse_notifications_query, params).slug == "invalid-query"


@pytest.mark.parametrize("text", ["", "abc", "a.b", "a.B.c", "a.b.c.d", "a/b.c.d", "a.b.c%2f"])
def test_a_malformed_notification_id_is_refused(text):
    assert refusal(parse_notification_id, text).status == 400


def test_a_page_token_is_opaque_and_checked():
    deployment_id = "8199999999999abcdef"
    token = paging.token(deployment_id, deployments_scope("bot", None))
    assert deployment_id not in token
    assert parse_list_query({"agent": "bot", "next": token}).next == deployment_id
    forged = [
        deployment_id,  # a row id is not a token
        "garbage",
        token[:-2],  # cut short
        token[:5] + ("A" if token[5] != "A" else "B") + token[6:],  # edited
    ]
    for raw in forged:
        assert refusal(parse_list_query, {"agent": "bot", "next": raw}).slug == "invalid-query", raw
    # made for other filters
    assert refusal(parse_list_query, {"agent": "other", "next": token}).slug == "invalid-query"
    assert refusal(parse_list_query, {"next": token}).slug == "invalid-query"


@pytest.mark.parametrize(
    ("short", "full"),
    [
        (":1.2.0", "myregistry.azurecr.io/agents/support-bot:1.2.0"),
        ("@sha256:" + "a" * 64, "myregistry.azurecr.io/agents/support-bot@sha256:" + "a" * 64),
        ("agents/support-bot:1.2.0", "myregistry.azurecr.io/agents/support-bot:1.2.0"),
        ("agents/other:2", "myregistry.azurecr.io/agents/other:2"),
        ("myregistry.azurecr.io/agents/support-bot:1.2.0", "myregistry.azurecr.io/agents/support-bot:1.2.0"),
        ("evil.azurecr.io/agents/support-bot:1.2.0", "evil.azurecr.io/agents/support-bot:1.2.0"),
    ],
)
def test_a_short_image_is_completed_from_the_agents_registry_and_repository(short, full):
    image = deploy(body({"agent": "support-bot", "image": short})).image
    at = f"@{image.digest}" if image.digest else f":{image.tag}"
    assert f"{image.registry}/{image.repository}{at}" == full


def test_a_short_image_of_an_agent_with_several_registries_is_refused():
    config = parse_config({**conftest.CONFIG, "registries": ["a.azurecr.io", "b.azurecr.io"]}, {})
    problem = refusal(lambda b: parse_deploy(b, config), body({"agent": "support-bot", "image": ":1.2.0"}))
    assert problem.slug == "invalid-body" and "names no registry" in problem.detail


@pytest.mark.parametrize("text", ["notanimage", ":", ":bad tag", "agents/support-bot"])
def test_a_short_image_that_is_still_no_image_is_refused_in_its_own_words(text):
    problem = refusal(deploy, body({"agent": "support-bot", "image": text}))
    assert f"{text!r} is not an image reference" in problem.detail
