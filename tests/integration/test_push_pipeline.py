"""An ACR push through the dev host, the real SDKs, Azurite and the Foundry emulator."""

from __future__ import annotations

import copy
import threading
import uuid

from deployer.cli.simulate import image_pushed_event
from tests.integration.conftest import fixture_json


def fresh(
    event: dict, *, tag: str | None = None, repository: str | None = None, host: str | None = None
) -> dict:
    event = copy.deepcopy(event)
    event["id"] = str(uuid.uuid4())
    event["data"]["target"]["digest"] = "sha256:" + uuid.uuid4().hex * 2
    if tag:
        event["data"]["target"]["tag"] = tag
    if repository:
        event["data"]["target"]["repository"] = repository
    if host:
        event["data"]["request"]["host"] = host
    return event


def test_the_documented_event_grid_sample_deploys_and_reaches_active(http):
    [event] = fixture_json("acr/imagepushed.eventgrid.json")
    event = fresh(event, tag="v-eg")
    assert http.deliver([event]) == 202
    [record] = http.records_for(event["id"])
    assert (record["agent"], record["status"], record["version"]) == ("hello", "creating", record["version"])
    done = http.wait_for(record["id"], {"active"})
    assert [h["status"] for h in done["history"]] == ["pending", "image_checked", "creating", "active"]
    assert done["image"] == "demo.azurecr.io/aci-helloworld:v-eg"
    assert done["digest"] == event["data"]["target"]["digest"]


def test_the_documented_cloudevents_sample_deploys(http):
    event = fresh(fixture_json("acr/imagepushed.cloudevents.json"), tag="v-ce")
    assert http.deliver(event, cloud=True) == 202
    [record] = http.records_for(event["id"])
    assert record["status"] == "creating" and record["agent"] == "hello"
    assert http.wait_for(record["id"], {"active"})["status"] == "active"


def test_image_deleted_is_acknowledged_and_recorded_as_ignored(http):
    for name, cloud in (
        ("acr/imagedeleted.eventgrid.json", False),
        ("acr/imagedeleted.cloudevents.json", True),
    ):
        payload = fixture_json(name)
        event = payload[0] if isinstance(payload, list) else payload
        event["id"] = str(uuid.uuid4())
        assert http.deliver(payload, cloud=cloud) == 202
        [record] = http.records_for(event["id"])
        assert record["status"] == "ignored"


def test_a_push_from_a_registry_not_allowed_is_refused_and_creates_nothing(http):
    before = http.versions_created("hello")
    [event] = fixture_json("acr/imagepushed.eventgrid.json")
    event = fresh(event, tag="v-evil", host="evil.azurecr.io")
    event["topic"] = event["topic"].replace("/registries/demo", "/registries/evil")
    assert http.deliver([event]) == 202
    [record] = http.records_for(event["id"])
    assert (record["status"], record["reason"]) == ("refused", "registry_not_allowed")
    assert http.versions_created("hello") == before


def test_the_same_event_delivered_five_times_at_once_makes_one_version(http):
    event = image_pushed_event("myregistry.azurecr.io/agents/support-bot:1.1.0")
    before = http.versions_created("support-bot")
    threads = [threading.Thread(target=http.deliver, args=([event],)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert http.deliver([event]) == 202
    assert http.versions_created("support-bot") == before + 1
    assert len(http.records_for(event["id"])) == 1


def test_one_push_fans_out_to_two_agents(http):
    event = image_pushed_event("myregistry.azurecr.io/agents/shared:build-7")
    assert http.deliver([event]) == 202
    assert sorted(r["agent"] for r in http.records_for(event["id"])) == ["fan-a", "fan-b"]


def test_unchecked_a_missing_image_fails_in_provisioning_with_the_platform_code_and_the_hint(http):
    # registry_check: false, so the version is created and the platform's pull (the Foundry
    # emulator asking the registry stand-in, which does not hold the image) fails it.
    image = f"myregistry.azurecr.io/agents/unchecked-bot:missing-{uuid.uuid4().hex[:8]}"
    event = image_pushed_event(image)
    assert http.deliver([event], push=False) == 202
    [record] = http.records_for(event["id"])
    assert record["status"] == "creating" and record["image_check"] is None
    failed = http.wait_for(record["id"], {"failed"})
    assert failed["error"]["code"] == "AcrImageNotFound"
    assert failed["error"]["hint"] == "Correct image name/tag or publish image."


def test_a_version_that_never_leaves_creating_times_out(http, emulator_settings):
    emulator_settings(provision_delay_s=None)
    event = image_pushed_event("myregistry.azurecr.io/agents/echo:slow-1")
    assert http.deliver([event]) == 202
    [record] = http.records_for(event["id"])
    timed_out = http.wait_for(record["id"], {"timed_out"}, timeout_s=30)
    assert timed_out["status"] == "timed_out" and timed_out["error"]["code"] == "timed_out"


def test_throttling_on_create_is_retried_by_the_sdk_until_it_succeeds(http, emulator_settings):
    emulator_settings(
        faults=[
            {
                "method": "POST",
                "path": "/agents/echo/versions$",
                "status": 429,
                "count": 2,
                "retry_after_s": 1,
            }
        ]
    )
    before = http.versions_created("echo")
    event = image_pushed_event("myregistry.azurecr.io/agents/echo:throttled-1")
    assert http.deliver([event]) == 202
    [record] = http.records_for(event["id"])
    assert record["status"] == "creating"
    assert http.versions_created("echo") == before + 3  # two 429s, then the version


def test_the_subscription_validation_handshake_is_answered(http):
    url = f"{http.info.deployer_url}/runtime/webhooks/eventgrid?functionName=on_image_pushed"
    event = [
        {
            "id": "v1",
            "topic": "t",
            "subject": "",
            "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
            "eventTime": "2026-01-01T00:00:00Z",
            "dataVersion": "1",
            "data": {"validationCode": "512d38b6"},
        }
    ]
    status, body = http.request("POST", url, event, {"aeg-event-type": "SubscriptionValidation"})
    assert (status, body) == (200, {"validationResponse": "512d38b6"})
