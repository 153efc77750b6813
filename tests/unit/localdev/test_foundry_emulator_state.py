"""The Foundry emulator's in-memory model, driven with a fake clock (no HTTP)."""

from __future__ import annotations

from typing import Any

import pytest

from localdev.foundry_emulator import EmulatorState
from localdev.foundry_emulator.endpoint_config import merge_patch, pick_weighted
from localdev.foundry_emulator.errors import ApiError
from localdev.foundry_emulator.registry_pull import RegistryPull

IMAGE = "reg.azurecr.io/repo:tag"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(clock: FakeClock) -> EmulatorState:
    emulator = EmulatorState(clock=clock, wall_clock=lambda: 1_700_000_000.0)
    emulator.update_settings({"provision_delay_s": 1.0, "delete_delay_s": 1.0})
    return emulator


def body(image: str = IMAGE, **extra: Any) -> dict[str, Any]:
    definition = {"kind": "hosted", "cpu": "1", "memory": "2Gi", "container_configuration": {"image": image}}
    return {"definition": definition, **extra}


def status(state: EmulatorState, version: str, agent: str = "agent") -> str:
    return str(state.get_version("p", agent, version)["status"])


def test_version_is_creating_until_delay_then_active(state: EmulatorState, clock: FakeClock) -> None:
    created = state.create_version("p", "agent", body())

    clock.advance(0.99)
    before = status(state, "1")
    clock.advance(0.01)

    assert (created["status"], before, status(state, "1")) == ("creating", "creating", "active")
    assert created["created_at"] == 1_700_000_000


def test_null_provision_delay_never_finishes(state: EmulatorState, clock: FakeClock) -> None:
    state.update_settings({"provision_delay_s": None})
    state.create_version("p", "agent", body())

    clock.advance(10_000)

    assert status(state, "1") == "creating"


def test_settings_are_fixed_when_a_version_is_created(state: EmulatorState, clock: FakeClock) -> None:
    state.create_version("p", "agent", body())
    state.update_settings({"failing_images": {IMAGE: "UnauthorizedAcrPull"}, "provision_delay_s": None})

    clock.advance(1)

    assert status(state, "1") == "active"


def test_failing_image_fails_with_its_code_and_message(state: EmulatorState, clock: FakeClock) -> None:
    state.update_settings({"failing_images": {IMAGE: "SubscriptionIsNotRegistered"}})
    state.create_version("p", "agent", body())

    clock.advance(1)
    version = state.get_version("p", "agent", "1")

    assert version["status"] == "failed"
    assert version["error"]["code"] == "SubscriptionIsNotRegistered"
    assert "Register the subscription provider" in version["error"]["message"]


class FakePull(RegistryPull):
    """The registry as a set of images it holds; each question recorded."""

    def __init__(self, held: set[str]) -> None:
        super().__init__(None)
        self.held = held
        self.asked: list[tuple[str | None, str]] = []

    def failure(self, registry_endpoint: str | None, image: str) -> str | None:
        self.asked.append((registry_endpoint, image))
        return None if registry_endpoint is None or image in self.held else "AcrImageNotFound"


def test_an_image_the_registry_does_not_hold_fails_acr_image_not_found(clock: FakeClock) -> None:
    pull = FakePull(held={"reg.azurecr.io/repo:held"})
    state = EmulatorState(clock=clock, pull=pull)
    state.update_settings({"provision_delay_s": 1.0, "registry_endpoint": "https://127.0.0.1:9443"})
    state.create_version("p", "agent", body())
    state.create_version("p", "agent", body("reg.azurecr.io/repo:held"))

    clock.advance(1)

    missing = state.get_version("p", "agent", "1")
    assert (missing["status"], missing["error"]["code"]) == ("failed", "AcrImageNotFound")
    assert status(state, "2") == "active"
    assert [image for _, image in pull.asked] == [IMAGE, "reg.azurecr.io/repo:held"]
    assert {endpoint for endpoint, _ in pull.asked} == {"https://127.0.0.1:9443"}


def test_without_a_registry_every_image_is_pulled(state: EmulatorState, clock: FakeClock) -> None:
    state.create_version("p", "agent", body())
    clock.advance(1)
    assert status(state, "1") == "active"


def test_version_numbers_count_up_and_are_not_reused_after_deletion(
    state: EmulatorState, clock: FakeClock
) -> None:
    state.create_version("p", "agent", body())
    state.delete_version("p", "agent", "1")
    clock.advance(1)

    with pytest.raises(ApiError) as raised:
        state.get_agent("p", "agent")
    recreated = state.create_version("p", "agent", body())

    assert raised.value.status == 404
    assert recreated["version"] == "2"


def test_deleting_version_stays_visible_until_delete_delay(state: EmulatorState, clock: FakeClock) -> None:
    state.create_version("p", "agent", body())
    state.create_version("p", "agent", body())

    state.delete_version("p", "agent", "1")
    during = [v["status"] for v in state.list_versions("p", "agent", {"order": "asc"})["data"]]
    clock.advance(1)
    after = [v["version"] for v in state.list_versions("p", "agent", {})["data"]]

    assert during == ["deleting", "creating"]
    assert after == ["2"]


def test_create_agent_conflicts_when_agent_exists(state: EmulatorState) -> None:
    state.create_agent("p", {"name": "agent", **body()})

    with pytest.raises(ApiError) as raised:
        state.create_agent("p", {"name": "agent", **body()})

    assert raised.value.status == 409


@pytest.mark.parametrize(
    "payload",
    [
        {"definition": {"kind": "hosted", "cpu": "1", "memory": "2Gi"}},
        {"definition": {"kind": "prompt", "model": "gpt"}},
        {"definition": {"kind": "hosted", "image": IMAGE}},
        {"definition": "not an object"},
        {**body(), "metadata": {f"k{i}": "v" for i in range(17)}},
    ],
)
def test_invalid_version_bodies_get_400(state: EmulatorState, payload: dict[str, Any]) -> None:
    with pytest.raises(ApiError) as raised:
        state.create_version("p", "agent", payload)

    assert raised.value.status == 400


def test_list_pages_follow_after_and_before_cursors(state: EmulatorState) -> None:
    for _ in range(5):
        state.create_version("p", "agent", body())

    first = state.list_versions("p", "agent", {"limit": "2"})
    second = state.list_versions("p", "agent", {"limit": "2", "after": first["last_id"]})
    previous = state.list_versions("p", "agent", {"limit": "2", "before": second["first_id"]})
    last = state.list_versions("p", "agent", {"limit": "2", "order": "asc", "after": "agent:3"})
    empty = state.list_versions("p", "agent", {"limit": "2", "after": "agent:1"})

    assert [v["version"] for v in first["data"]] == ["5", "4"]
    assert [v["version"] for v in second["data"]] == ["3", "2"]
    assert [v["version"] for v in previous["data"]] == ["5", "4"]
    assert ([v["version"] for v in last["data"]], last["has_more"]) == (["4", "5"], False)
    assert (empty["data"], empty["last_id"], empty["has_more"]) == ([], None, False)


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "101"}, {"order": "up"}, {"after": "x:y"}])
def test_invalid_list_queries_get_400(state: EmulatorState, query: dict[str, str]) -> None:
    state.create_version("p", "agent", body())

    with pytest.raises(ApiError) as raised:
        state.list_versions("p", "agent", query)

    assert raised.value.status == 400


def test_weighted_routing_is_deterministic_and_exact() -> None:
    current: dict[str, int] = {}

    picks = [pick_weighted([("1", 90), ("2", 10), ("3", 0)], current) for _ in range(100)]

    assert (picks.count("1"), picks.count("2"), picks.count("3")) == (90, 10, 0)
    assert picks[:10].count("2") == 1


def test_merge_patch_replaces_nested_values_and_null_removes() -> None:
    target = {"agent_endpoint": {"version_selector": {"rules": [1]}, "keep": True}, "agent_card": {"a": 1}}

    patched = merge_patch(
        target, {"agent_endpoint": {"version_selector": {"rules": [2]}}, "agent_card": None}
    )

    assert patched == {"agent_endpoint": {"version_selector": {"rules": [2]}, "keep": True}}
    assert target["agent_card"] == {"a": 1}


def test_selector_must_name_live_versions_and_add_up_to_100(state: EmulatorState) -> None:
    state.create_version("p", "agent", body())
    rule = {"type": "FixedRatio", "agent_version": "1", "traffic_percentage": 60}
    unknown = {"type": "FixedRatio", "agent_version": "7", "traffic_percentage": 40}

    for rules in ([rule], [rule, unknown]):
        patch = {"agent_endpoint": {"version_selector": {"version_selection_rules": rules}}}
        with pytest.raises(ApiError) as raised:
            state.update_agent("p", "agent", patch)
        assert raised.value.status == 400


def test_endpoint_routing_needs_an_active_version(state: EmulatorState, clock: FakeClock) -> None:
    state.create_version("p", "agent", body())

    with pytest.raises(ApiError) as early:
        state.route("p", "agent", None, "responses")
    clock.advance(1)
    version, _ = state.route("p", "agent", None, "responses")

    assert early.value.status == 409
    assert version == "1"


def test_endpoint_rejects_undeclared_protocol(state: EmulatorState, clock: FakeClock) -> None:
    payload = body()
    payload["definition"]["protocol_versions"] = [{"protocol": "responses", "version": "1.0.0"}]
    state.create_version("p", "agent", payload)
    clock.advance(1)

    with pytest.raises(ApiError) as raised:
        state.route("p", "agent", None, "invocations")

    assert raised.value.status == 400


def test_fault_is_consumed_count_times(state: EmulatorState) -> None:
    state.update_settings({"faults": [{"method": "GET", "path": "/agents$", "status": 429, "count": 2}]})

    hits = [state.take_fault("GET", "/api/projects/p/agents") for _ in range(3)]
    other_method = state.take_fault("POST", "/api/projects/p/agents")

    assert [hit is not None for hit in hits] == [True, True, False]
    assert other_method is None


@pytest.mark.parametrize(
    "payload",
    [
        {"provision_delay_s": -1},
        {"unknown": 1},
        {"failing_images": "one"},
        {"registry_endpoint": "http://127.0.0.1:1"},
        {"faults": [{"path": "("}]},
        {"faults": [{"path": "x", "status": 200}]},
    ],
)
def test_invalid_settings_get_400(state: EmulatorState, payload: dict[str, Any]) -> None:
    with pytest.raises(ApiError) as raised:
        state.update_settings(payload)

    assert raised.value.status == 400


def test_admin_force_failed_uses_default_error(state: EmulatorState) -> None:
    state.create_version("p", "agent", body())

    forced = state.force_status("p", "agent", "1", {"status": "failed"})

    assert (forced["status"], forced["error"]["code"]) == ("failed", "ProvisioningFailed")
