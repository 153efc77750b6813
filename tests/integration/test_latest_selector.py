"""Verified rollouts, canaries, aborts and rollbacks through the dev host on agents whose endpoint
routes ``@latest`` (the newest version that is not a draft): the platform's default selector,
and one a person set. ``@latest`` would hand each new version the traffic as soon as it exists;
the deployer pins the version serving before, by number, and moves on only after the smoke test."""

from __future__ import annotations

import pytest

from tests.integration.selector_support import (
    DEFAULT,
    answered_by,
    create_by_hand,
    image,
    push,
    selector,
    selector_writes,
    set_selector,
    wait_for_selector,
    wait_until,
)

pytestmark = pytest.mark.integration
FLAVOURS = ["dflt", "hand"]
FAILING = {"status": 500, "text": "model not reachable"}


def done(statuses):
    return lambda record: record["status"] in statuses


def serving_on_latest(http, flavour: str, agent: str) -> str:
    """Version 1 serves through a selector naming ``@latest``: ``dflt``, the platform's default on
    a version made by hand; ``hand``, a split a person set after the deployer's first rollout."""
    if flavour == "dflt":
        create_by_hand(http, agent, "0")
        assert selector(http, agent) == DEFAULT
    else:
        first = push(http, agent, "0")
        assert wait_until(http, first["id"], done({"verified", "active"}))["status"] == "verified"
        set_selector(http, agent, [("1", 50), ("@latest", 50)])
    assert answered_by(http, agent) == "1"
    return "1"


def in_canary_at(record, percentage: int) -> bool:
    return record["status"] == "canary" and (record.get("canary") or {}).get("percentage") == percentage


def only(http, agent: str, calls: int = 4) -> set[str]:
    """The versions that answer ``calls`` unpinned calls."""
    return {answered_by(http, agent) for _ in range(calls)}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_verified_rollout_keeps_latest_traffic_on_the_serving_version_until_the_smoke_test_passes(
    http, emulator_settings, flavour
):
    agent = f"{flavour}-verified"
    serving_on_latest(http, flavour, agent)
    writes_before = len(selector_writes(http, agent))
    emulator_settings(image_replies={image(agent, "1"): FAILING})
    bad = wait_until(http, push(http, agent, "1")["id"], done({"unhealthy", "verified", "failed"}))
    assert bad["status"] == "unhealthy" and bad["version"] == "2"
    assert selector(http, agent) == [("1", 100)] and only(http, agent) == {"1"}
    assert selector_writes(http, agent)[writes_before:] == [[("1", 100)]]  # the pin, by number
    good = wait_until(http, push(http, agent, "2")["id"], done({"unhealthy", "verified", "failed"}))
    assert good["status"] == "verified" and good["smoke"]["answered_by"] == "3"
    assert selector(http, agent) == [("3", 100)] and only(http, agent) == {"3"}
    emulator_settings(image_replies={})


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_canary_on_latest_splits_with_the_serving_version_and_an_abort_gives_it_all_back(http, flavour):
    agent = f"{flavour}-canary"
    serving_on_latest(http, flavour, agent)
    first_step = done({"verified", "unhealthy", "failed"})
    record = wait_until(http, push(http, agent, "1")["id"], lambda r: first_step(r) or in_canary_at(r, 10))
    assert record["status"] == "canary" and record["canary"]["stable"] == "1"
    # The step is recorded before the selector is written: wait for the write, then look.
    assert wait_for_selector(http, agent, lambda rules: rules != [("1", 100)]) == [("2", 10), ("1", 90)]
    status, aborted = http.request(
        "POST", f"{http.info.deployer_url}/api/deployments/{record['id']}/abort", {}
    )
    assert status == 200, aborted
    assert (
        aborted["status"] == "rolled_back" and "all traffic back on version 1" in aborted["error"]["message"]
    )
    assert selector(http, agent) == [("1", 100)] and only(http, agent) == {"1"}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_rollback_by_traffic_on_latest_goes_back_by_number(http, flavour):
    agent = f"{flavour}-rollback"
    serving_on_latest(http, flavour, agent)
    writes_before = len(selector_writes(http, agent))
    second = wait_until(http, push(http, agent, "1")["id"], done({"verified", "unhealthy", "failed"}))
    third = wait_until(http, push(http, agent, "2")["id"], done({"verified", "unhealthy", "failed"}))
    assert (second["status"], third["status"], third["version"]) == ("verified", "verified", "3")
    # Each new version was dark until its smoke test passed: pinned, then moved, by number.
    pins = [[("1", 100)], [("2", 100)], [("3", 100)]]
    assert selector_writes(http, agent)[writes_before:] == pins
    set_selector(http, agent, DEFAULT)  # a person resets the endpoint to the platform's default
    url = f"{http.info.deployer_url}/api/agents/{agent}/rollback"
    status, started = http.request("POST", url, {"to": "2", "reason": "bad answers"})
    assert status == 202, started
    back = wait_until(http, started["id"], done({"active", "failed"}))
    assert (back["status"], back["rollout"], back["version"]) == ("active", "instant", "2")
    assert selector(http, agent) == [("2", 100)] and only(http, agent) == {"2"}
