"""The image check through the dev host, the real azure-containerregistry SDK and the registry
stand-in: a deploy by tag records the digest the registry resolved it to (and its rollback holds
that digest), a missing image or one without linux/amd64 fails at once with no create_version,
and a registry that fails or cannot be reached is retried."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from deployer.cli.simulate import image_pushed_event

pytestmark = pytest.mark.integration
REGISTRY = "myregistry.azurecr.io"


def image(agent: str, tag: str) -> str:
    return f"{REGISTRY}/agents/{agent}:{tag}"


def fresh(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def request(http, path: str, body: object = None) -> dict:
    status, answer = http.request("POST", f"{http.info.deployer_url}/api/{path}", body)
    assert status == 202, answer
    return answer


def creates(http, agent: str) -> int:
    return http.versions_created(agent)


@pytest.fixture
def faults(http) -> Iterator[None]:
    yield
    http.registry("PUT", "faults", {"faults": []})


def deploy(http, agent: str, tag: str) -> dict:
    return request(http, "deployments", {"agent": agent, "image": image(agent, tag)})


def test_a_manual_deploy_by_tag_records_the_digest_and_its_rollback_holds_it(http):
    tags = [f"1.{n}.{uuid.uuid4().int % 10_000}" for n in (0, 1)]
    digests = [http.seed(image("digest-bot", tag)) for tag in tags]
    first = http.wait_for(deploy(http, "digest-bot", tags[0])["id"], {"active", "failed"})
    assert (first["status"], first["tag"], first["digest"]) == ("active", tags[0], digests[0])
    assert first["image_check"]["reference"] == tags[0]  # asked by tag, resolved by the registry
    second = http.wait_for(deploy(http, "digest-bot", tags[1])["id"], {"active", "failed"})
    assert (second["status"], second["digest"]) == ("active", digests[1])

    back = request(http, "agents/digest-bot/rollback", {"reason": "bad answers"})
    assert back["history"][0]["note"].startswith(f"held {digests[1]}")
    held = http.api("agents/digest-bot/holds")["items"]
    assert [h["digest"] for h in held] == [digests[1]]
    event = image_pushed_event(image("digest-bot", tags[1]), digest=digests[1])
    assert http.deliver([event]) == 202
    [again] = http.records_for(event["id"])
    assert (again["status"], again["reason"]) == ("skipped", "held")


def test_pin_digest_deploys_a_request_by_tag_as_the_resolved_digest(http):
    tag = f"1.0.{uuid.uuid4().int % 10_000}"
    digest = http.seed(image("pinned-bot", tag))
    started = request(http, "deployments", {"agent": "pinned-bot", "image": image("pinned-bot", tag)})
    assert started["image"] == f"{REGISTRY}/agents/pinned-bot@{digest}"
    [create] = [
        r
        for r in http.emulator("GET", "requests")["requests"]
        if r["method"] == "POST" and r["path"].endswith("/agents/pinned-bot/versions")
    ][-1:]
    assert create["body"]["definition"]["container_configuration"]["image"] == started["image"]


def test_a_push_of_a_missing_image_fails_at_once_and_creates_nothing(http):
    before = creates(http, "image-bot")
    event = image_pushed_event(image("image-bot", fresh()))
    assert http.deliver([event], push=False) == 202
    [record] = http.records_for(event["id"])  # decided within the delivery: no poll needed
    assert (record["status"], record["error"]["code"]) == ("failed", "image_not_found")
    assert image("image-bot", event["data"]["target"]["tag"]) in record["error"]["message"]
    assert f"registry {REGISTRY}" in record["error"]["message"]
    assert [h["status"] for h in record["history"]] == ["pending", "image_checked", "failed"]
    assert creates(http, "image-bot") == before


def test_a_request_for_a_missing_image_fails_at_once_and_creates_nothing(http):
    before = creates(http, "image-bot")
    started = request(http, "deployments", {"agent": "image-bot", "image": image("image-bot", fresh())})
    assert (started["status"], started["error"]["code"]) == ("failed", "image_not_found")
    assert creates(http, "image-bot") == before


def test_a_multi_arch_index_without_amd64_is_refused(http):
    before = creates(http, "image-bot")
    tag = fresh()
    digest = http.seed(image("image-bot", tag), platforms=["linux/arm64", "linux/arm/v7"])
    event = image_pushed_event(image("image-bot", tag), digest=digest)
    assert http.deliver([event], push=False) == 202
    [record] = http.records_for(event["id"])
    assert (record["status"], record["error"]["code"]) == ("failed", "no_amd64_image")
    assert record["image_check"]["media_type"] == "application/vnd.oci.image.index.v1+json"
    assert record["image_check"]["platforms"] == ["linux/arm64", "linux/arm/v7"]
    assert creates(http, "image-bot") == before


def test_a_multi_arch_index_with_amd64_deploys(http):
    tag = fresh()
    digest = http.seed(image("image-bot", tag), platforms=["linux/amd64", "linux/arm64"])
    event = image_pushed_event(image("image-bot", tag), digest=digest)
    assert http.deliver([event], push=False) == 202
    [record] = http.records_for(event["id"])
    assert http.wait_for(record["id"], {"active", "failed"})["status"] == "active"


def test_a_registry_that_fails_is_retried_and_the_push_then_deploys(http, faults):
    tag = fresh()
    digest = http.seed(image("image-bot", tag))
    path = f"/_manifests/{digest}".replace(":", "%3A")
    http.registry("PUT", "faults", {"faults": [{"path": path, "status": 503, "count": 2}]})
    event = image_pushed_event(image("image-bot", tag), digest=digest)
    assert http.deliver([event], push=False) == 202
    [record] = http.records_for(event["id"])
    assert http.wait_for(record["id"], {"active", "failed"})["status"] == "active"
    answers = [r["status"] for r in http.registry("GET", "requests")["requests"] if r["path"].endswith(path)]
    assert answers[:2] == [503, 503] and answers[-1] == 200  # both failures retried, then served


def test_an_unreachable_registry_is_retried_and_the_push_then_deploys(http, faults):
    tag = fresh()
    digest = http.seed(image("image-bot", tag))
    path = f"/_manifests/{digest}".replace(":", "%3A")
    http.registry("PUT", "faults", {"faults": [{"path": path, "drop": True, "count": 2}]})
    event = image_pushed_event(image("image-bot", tag), digest=digest)
    assert http.deliver([event], push=False) == 202
    [record] = http.records_for(event["id"])
    assert http.wait_for(record["id"], {"active", "failed"})["status"] == "active"
    answers = [r["status"] for r in http.registry("GET", "requests")["requests"] if r["path"].endswith(path)]
    assert answers[:2] == [None, None] and answers[-1] == 200  # closed unanswered twice, then served


def test_a_registry_unreachable_past_the_sdk_retries_leaves_the_push_pending_for_its_redelivery(http, faults):
    before = creates(http, "image-bot")
    tag = fresh()
    digest = http.seed(image("image-bot", tag))
    path = f"/_manifests/{digest}".replace(":", "%3A")
    http.registry("PUT", "faults", {"faults": [{"path": path, "drop": True, "count": 4}]})
    event = image_pushed_event(image("image-bot", tag), digest=digest)
    assert http.deliver([event], push=False) >= 500  # Event Grid delivers it again later
    [record] = http.records_for(event["id"])
    assert (record["status"], record["image_check"]) == ("pending", None)
    assert creates(http, "image-bot") == before
    http.registry("PUT", "faults", {"faults": []})
    assert http.deliver([event], push=False) == 202  # the redelivery checks again at once
    assert http.wait_for(record["id"], {"active", "failed"})["status"] == "active"
    assert creates(http, "image-bot") == before + 1
