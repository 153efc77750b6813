"""The ACR stand-in's pure parts: tokens, scopes, made-up and pushed manifests, Accept, seeding."""

from __future__ import annotations

import json

import pytest
from azure.containerregistry._helpers import _parse_exp_time

from localdev.acr_emulator import RegistryState
from localdev.acr_emulator.manifests import (
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Platform,
    accepts,
    digest_of,
    made_up_image,
    parse_pushed,
)
from localdev.acr_emulator.seeding import ImageRef, seed
from localdev.acr_emulator.tokens import InvalidToken, Scope, TokenIssuer
from localdev.acr_emulator.wire import RegistryError

REGISTRY = "reg.azurecr.io"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_sdk_reads_the_expiry_of_a_refresh_token():
    clock = FakeClock()
    token = TokenIssuer(clock).refresh_token(REGISTRY)
    assert _parse_exp_time(token) == clock.now + 3 * 3600


def test_an_access_token_grants_the_scopes_it_was_asked_for():
    issuer = TokenIssuer(FakeClock())
    scopes = Scope.parse_all("repository:agents/bot:pull,push registry:catalog:*")
    token = issuer.access_token(REGISTRY, scopes)
    assert issuer.granted(token, REGISTRY) == scopes
    assert str(scopes[0]) == "repository:agents/bot:pull,push"


@pytest.mark.parametrize("case", ["other registry", "expired", "wrong kind", "forged", "other issuer"])
def test_a_token_that_does_not_fit_is_refused(case):
    clock = FakeClock()
    issuer = TokenIssuer(clock)
    token = issuer.access_token(REGISTRY, [])
    service = REGISTRY
    if case == "other registry":
        service = "other.azurecr.io"
    elif case == "expired":
        clock.now += 75 * 60
    elif case == "wrong kind":
        token = issuer.refresh_token(REGISTRY)
    elif case == "forged":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    else:
        token = TokenIssuer(clock).access_token(REGISTRY, [])
    with pytest.raises(InvalidToken):
        issuer.granted(token, service)


def test_malformed_scopes_are_ignored():
    assert Scope.parse_all("repository:app pull nonsense ") == []


def test_a_made_up_image_is_the_same_for_the_same_image_and_platform():
    amd = made_up_image(f"{REGISTRY}/app:1", Platform.parse("linux/amd64"))
    assert amd == made_up_image(f"{REGISTRY}/app:1", Platform.parse("linux/amd64"))
    assert amd != made_up_image(f"{REGISTRY}/app:1", Platform.parse("linux/arm64"))
    assert json.loads(amd)["mediaType"] == OCI_MANIFEST


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b"{}", "text/plain", "Unsupported manifest media type"),
        (b"not json", OCI_MANIFEST, "not valid JSON"),
        (b'{"schemaVersion": 1}', OCI_MANIFEST, "schemaVersion 2"),
        (json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX}).encode(), OCI_MANIFEST, "differs"),
        (json.dumps({"schemaVersion": 2, "manifests": [{}]}).encode(), OCI_INDEX, "needs a digest"),
    ],
)
def test_a_bad_pushed_manifest_is_manifest_invalid(content, content_type, message):
    with pytest.raises(RegistryError) as error:
        parse_pushed(content, content_type)
    assert (error.value.status, error.value.code) == (400, "MANIFEST_INVALID")
    assert message in error.value.message


def test_a_pushed_index_names_its_children_and_their_platforms():
    entry = {"digest": "sha256:" + "a" * 64, "size": 3, "platform": {"os": "linux", "architecture": "arm64"}}
    body = json.dumps({"schemaVersion": 2, "manifests": [entry, {"digest": "sha256:" + "b" * 64}]}).encode()
    media_type, children = parse_pushed(body, OCI_INDEX + "; charset=utf-8")
    assert media_type == OCI_INDEX
    assert [(c.digest[-1], c.platform) for c in children] == [("a", Platform("linux", "arm64")), ("b", None)]


@pytest.mark.parametrize(
    ("accept", "admitted"),
    [
        (None, True),
        ("*/*", True),
        (f"{DOCKER_MANIFEST}, {OCI_MANIFEST};q=0.5", True),
        (DOCKER_MANIFEST, False),
    ],
)
def test_accept_admits_the_media_type_or_a_wildcard(accept, admitted):
    assert accepts(accept, OCI_MANIFEST) is admitted


@pytest.mark.parametrize(
    "text", ["app:1", "reg.azurecr.io/app", "reg.azurecr.io/App:1", None, "reg.azurecr.io/:1"]
)
def test_an_image_reference_needs_a_login_server_a_repository_and_a_tag(text):
    with pytest.raises(RegistryError):
        ImageRef.parse(text)


def test_an_image_reference_keeps_nested_repositories_and_lowers_the_login_server():
    assert ImageRef.parse("Reg.AzureCR.io/agents/bot:1.0.0") == ImageRef(REGISTRY, "agents/bot", "1.0.0")


def test_seeding_several_platforms_stores_an_index_and_its_children():
    state = RegistryState(FakeClock())
    (image,) = seed(
        state, {"images": [{"image": f"{REGISTRY}/app:1", "platforms": ["linux/amd64", "linux/arm64/v8"]}]}
    )
    index = state.manifest(REGISTRY, "app", "1")
    assert (index.media_type, index.digest, image["digest"]) == (
        OCI_INDEX,
        digest_of(index.content),
        index.digest,
    )
    assert [p["platform"] for p in image["platforms"]] == ["linux/amd64", "linux/arm64/v8"]
    for child in index.children:
        assert state.manifest(REGISTRY, "app", child.digest).platform == child.platform


def test_seeding_checks_every_image_before_storing_any():
    state = RegistryState(FakeClock())
    body = {
        "images": [{"image": f"{REGISTRY}/app:1"}, {"image": f"{REGISTRY}/app:2", "digest": "sha256:short"}]
    }
    with pytest.raises(RegistryError):
        seed(state, body)
    assert state.images() == []


def test_retagging_keeps_the_tags_creation_time():
    clock = FakeClock()
    state = RegistryState(clock)
    seed(state, {"images": [{"image": f"{REGISTRY}/app:1"}]})
    clock.now += 60
    seed(state, {"images": [{"image": f"{REGISTRY}/app:1", "platforms": ["linux/arm64"]}]})
    tag = state.tag(REGISTRY, "app", "1")
    assert tag.created < tag.updated
    assert tag.digest == state.manifest(REGISTRY, "app", "1").digest
