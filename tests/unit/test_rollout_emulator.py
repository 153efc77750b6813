"""The Foundry emulator's settings for rollouts: per-image replies of the agent endpoints, and
the model deployments and connections a project has."""

import pytest

from localdev.foundry_emulator.errors import ApiError
from localdev.foundry_emulator.settings import ImageReply, Settings, apply_settings_update
from localdev.foundry_emulator.state import EmulatorState


def test_image_replies_are_parsed_and_shown():
    settings = apply_settings_update(Settings(), {"image_replies": {"r/a:1": {"status": 503, "delay_s": 1}}})
    assert settings.image_replies == {"r/a:1": ImageReply(status=503, delay_s=1.0)}
    assert settings.to_json()["image_replies"] == {"r/a:1": {"status": 503, "text": None, "delay_s": 1.0}}


@pytest.mark.parametrize(
    "reply", [{"status": 200}, {"status": True}, {"text": 3}, {"delay_s": -1}, {"body": "x"}, "slow"]
)
def test_bad_image_replies_are_refused(reply):
    with pytest.raises(ApiError) as caught:
        apply_settings_update(Settings(), {"image_replies": {"r/a:1": reply}})
    assert caught.value.status == 400


def test_every_resource_exists_until_a_list_is_set():
    state = EmulatorState()
    assert state.has_resource("deployment", "anything") and state.has_resource("connection", "any")
    state.update_settings({"model_deployments": ["gpt-5-mini"], "connections": []})
    assert state.has_resource("deployment", "gpt-5-mini") and not state.has_resource("deployment", "gpt-4o")
    assert not state.has_resource("connection", "search")
    state.update_settings({"model_deployments": None})
    assert state.has_resource("deployment", "gpt-4o")
