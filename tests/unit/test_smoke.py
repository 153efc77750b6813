"""Smoke tests: the configuration, the request, whether a reply passes, and the result."""

import json
from dataclasses import replace

import pytest

from deployer.config.parser import ConfigError, parse_config
from deployer.domain import smoke
from deployer.domain.agents import Expect, SmokeTest
from deployer.domain.platform import InvokeReply
from deployer.domain.rollout_state import MAX_EXCERPT
from deployer.domain.smoke import parse_path
from tests.unit.conftest import PROJECT_ID, REGISTRY


def agent_config(**fields):
    raw = {
        "registries": [REGISTRY],
        "project_resource_id": PROJECT_ID,
        "agents": [{"name": "a", "repository": "r/a", **fields}],
    }
    return parse_config(raw, {}).agents[0]


def problems(**fields):
    with pytest.raises(ConfigError) as caught:
        agent_config(**fields)
    return caught.value.problems


def response(text):
    return json.dumps({"output": [{"type": "message", "content": [{"type": "output_text", "text": text}]}]})


def reply(body, status=200):
    return InvokeReply(status_code=status, body=body, latency_ms=5.0)


RESPONSES = SmokeTest(protocol="responses", input="Say READY", expect=Expect(contains="READY"))


# -- configuration --------------------------------------------------------------------------


def test_a_smoke_test_makes_the_rollout_verified_and_has_defaults():
    agent = agent_config(smoke_test={"input": "Say READY", "expect": {"contains": "READY"}})
    assert agent.rollout == "verified" and agent.on_smoke_failure == "rollback"
    assert agent.smoke_test == SmokeTest(
        protocol="responses", input="Say READY", expect=Expect(contains="READY")
    )
    assert agent_config().rollout == "immediate" and agent_config().smoke_test is None


def test_an_invocations_smoke_test_takes_a_json_body():
    agent = agent_config(
        protocols={"invocations": "1.0.0"},
        smoke_test={
            "protocol": "invocations",
            "input": {"task": "ping"},
            "expect": {"json_path": "$.status", "equals": "completed"},
        },
    )
    assert json.loads(agent.smoke_test.input) == {"task": "ping"}
    assert agent.smoke_test.expect.equals_json == '"completed"'


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"rollout": "verified"}, "agents[0].rollout: 'verified' needs a smoke_test"),
        (
            {"rollout": "immediate", "smoke_test": {"input": "x"}},
            "agents[0].smoke_test: only run with rollout: verified",
        ),
        ({"rollout": "canary"}, "agents[0].rollout: must be 'immediate' or 'verified'"),
        ({"smoke_test": {"input": "x"}, "on_smoke_failure": "ignore"}, "agents[0].on_smoke_failure: must be"),
        ({"smoke_test": "ping"}, "agents[0].smoke_test: must be a mapping"),
        ({"smoke_test": {"input": ""}}, "agents[0].smoke_test.input: the responses protocol needs"),
        (
            {"smoke_test": {"protocol": "invocations", "input": {}}},
            "does not declare the 'invocations' protocol",
        ),
        (
            {"protocols": {"invocations": "1"}, "smoke_test": {"protocol": "invocations", "input": "x"}},
            "needs a JSON object",
        ),
        (
            {"smoke_test": {"input": "x", "expect": {"regex": "("}}},
            "agents[0].smoke_test.expect.regex: not a valid",
        ),
        (
            {"smoke_test": {"input": "x", "expect": {"json_path": "$..a"}}},
            "agents[0].smoke_test.expect.json_path",
        ),
        (
            {"smoke_test": {"input": "x", "expect": {"contains": "a", "regex": "b"}}},
            "at most one of contains",
        ),
        ({"smoke_test": {"input": "x", "expect": {"equals": 1}}}, "equals: only used with json_path"),
        ({"smoke_test": {"input": "x", "expect": {"status": 99}}}, "expect.status: must be an HTTP status"),
        ({"smoke_test": {"input": "x", "attempts": 0}}, "attempts: must be a whole number from 1 to 10"),
        ({"smoke_test": {"input": "x", "timeout_s": 301}}, "timeout_s: must be a number of seconds"),
        ({"smoke_test": {"input": "x", "retries": 1}}, "agents[0].smoke_test.retries: unknown field"),
    ],
)
def test_each_mistake_is_named(fields, expected):
    assert any(expected in p for p in problems(**fields)), problems(**fields)


def test_json_paths_parse_into_steps():
    assert parse_path("$.output[0].content[0].text") == ("output", 0, "content", 0, "text")
    assert parse_path('agent["name"]') == ("agent", "name")
    assert parse_path("$.a b") is None


# -- the request and the verdict ----------------------------------------------------------------


def test_the_request_addresses_the_version_with_the_configured_input():
    request = smoke.request_for(RESPONSES, "7")
    assert (request.version, request.protocol, request.payload, request.timeout_s) == (
        "7",
        "responses",
        "Say READY",
        30.0,
    )
    invocations = SmokeTest(protocol="invocations", input='{"task": "ping"}', expect=Expect())
    assert smoke.request_for(invocations, "7").payload == {"task": "ping"}


def test_responses_are_judged_on_what_the_agent_said_not_the_echo_of_the_input():
    assert smoke.judge(RESPONSES, reply(response("READY"))).passed
    echo = json.dumps({"output": [], "instructions": "Say READY"})
    assert smoke.judge(RESPONSES, reply(echo)) == smoke.Verdict(
        passed=False, detail="the answer does not contain 'READY'"
    )


def test_the_status_is_checked_first_and_no_answer_is_a_failure():
    assert smoke.judge(RESPONSES, reply(response("READY"), 503)).detail == "answered HTTP 503, expected 200"
    timeout = InvokeReply(status_code=None, body="", latency_ms=1.0, error="no answer within 30 s")
    assert smoke.judge(RESPONSES, timeout).detail == "no answer within 30 s"


def test_regex_and_json_path_checks():
    regex = SmokeTest(protocol="responses", input="x", expect=Expect(regex=r"^READY\b"))
    assert smoke.judge(regex, reply(response("READY now"))).passed
    assert not smoke.judge(regex, reply(response("not READY"))).passed
    path = SmokeTest(
        protocol="invocations", input="{}", expect=Expect(json_path="$.agent.version", equals_json='"2"')
    )
    assert smoke.judge(path, reply('{"agent": {"version": "2"}}')).passed
    assert smoke.judge(path, reply('{"agent": {"version": "1"}}')).detail == '$.agent.version is "1"'
    assert smoke.judge(path, reply('{"agent": {}}')).detail == "$.agent.version is not in the reply"
    assert smoke.judge(path, reply("<html>")).detail == "the reply is not JSON"


def test_a_result_runs_until_it_passes_or_its_attempts_are_spent():
    failed = smoke.Verdict(passed=False, detail="nope")
    first = smoke.after_attempt(None, failed, reply("x", 500), attempts=2)
    assert (first.status, first.attempts, first.http_status) == ("running", 1, 500)
    assert smoke.after_attempt(first, failed, reply("x", 500), attempts=2).status == "failed"
    passed = smoke.after_attempt(first, smoke.Verdict(passed=True), reply("ok"), attempts=2)
    assert (passed.status, passed.attempts, passed.latency_ms, passed.detail) == ("passed", 2, 5.0, None)


def test_the_excerpt_is_capped():
    assert len(smoke.excerpt("x" * 5000)) == MAX_EXCERPT
    assert smoke.excerpt("  ") is None


def test_the_version_a_reply_names_is_read_from_its_agent_reference():
    named = '{"agent_reference": {"type": "agent_reference", "name": "a", "version": "4"}}'
    assert smoke.answered_by(named) == "4"
    assert smoke.answered_by('{"agent": {"version": "4"}}') is None
    assert smoke.answered_by("not json") is None
    assert smoke.answered_by('{"agent_reference": {"version": true}}') is None


def test_a_reply_naming_another_version_fails_even_if_it_says_the_right_thing():
    body = '{"output": [], "agent_reference": {"version": "3"}}'
    test = replace(RESPONSES, expect=replace(RESPONSES.expect, contains=None))
    assert smoke.judge(test, reply(body), version="3").passed
    assert smoke.judge(test, reply(body), version="4").detail == "version 3 answered, not version 4"
    assert smoke.judge(test, reply(body)).passed  # no version given: nothing to compare
