"""Platform behaviours of the Foundry emulator's model, with a fake clock (no HTTP)."""

from __future__ import annotations

from typing import Any

import pytest

from localdev.foundry_emulator import EmulatorState
from localdev.foundry_emulator.errors import ApiError
from localdev.foundry_emulator.settings import Settings

IMAGE = "reg.azurecr.io/repo:tag"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(clock: FakeClock) -> EmulatorState:
    emulator = EmulatorState(clock=clock, wall_clock=lambda: 1_700_000_000.0)
    emulator.update_settings({"provision_delay_s": 0, "delete_delay_s": 1.0})
    return emulator


def body(**extra: Any) -> dict[str, Any]:
    definition = {"kind": "hosted", "cpu": "1", "memory": "2Gi", "container_configuration": {"image": IMAGE}}
    return {"definition": definition, **extra}


def test_at_latest_skips_drafts_and_versions_being_deleted(state: EmulatorState) -> None:
    for extra in ({}, {}, {"draft": True}):
        state.create_version("p", "a", body(**extra))

    before = state.route("p", "a", None, "responses")[0]
    state.delete_version("p", "a", "2")
    after = state.route("p", "a", None, "responses")[0]

    assert (before, after) == ("2", "1")


def test_a_version_stays_busy_for_the_linger_time_after_its_last_call(
    state: EmulatorState, clock: FakeClock
) -> None:
    state.update_settings({"session_linger_s": 60})
    state.create_version("p", "a", body())
    state.route("p", "a", None, "responses")
    clock.now += 59

    with pytest.raises(ApiError) as busy:
        state.delete_version("p", "a", "1")
    clock.now += 1

    assert (busy.value.status, busy.value.code) == (409, "conflict")
    assert state.delete_version("p", "a", "1")["deleted"] is True


def test_a_protocol_left_out_of_protocol_configuration_is_refused(state: EmulatorState) -> None:
    state.create_version("p", "a", body())
    state.update_agent("p", "a", {"agent_endpoint": {"protocol_configuration": {"invocations": {}}}})

    with pytest.raises(ApiError) as refused:
        state.route("p", "a", None, "responses")

    assert (refused.value.status, refused.value.code) == (400, "protocol_not_enabled")
    assert state.route("p", "a", None, "invocations")[0] == "1"


def test_reset_goes_back_to_the_baseline_settings(clock: FakeClock) -> None:
    state = EmulatorState(clock=clock, baseline=Settings(default_selector="none"))
    state.update_settings({"default_selector": "latest"})

    state.reset()

    assert state.settings()["default_selector"] == "none"
