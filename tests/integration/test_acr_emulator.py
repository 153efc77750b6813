"""The ACR data-plane stand-in driven through real HTTPS by the real azure-containerregistry SDK,
trusted only through REQUESTS_CA_BUNDLE, with a static AAD token as the deployer uses locally."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from azure.containerregistry import ContainerRegistryClient
from azure.containerregistry._helpers import _parse_challenge
from azure.core.exceptions import ResourceNotFoundError

from deployer.adapters.credentials import StaticTokenCredential
from deployer.adapters.registry import AcrRegistry
from deployer.domain.errors import PlatformError
from localdev.acr_emulator import RegistryServer, start_registry
from localdev.stack import Stack
from localdev.tls import LocalTLS, ensure_local_tls

pytestmark = pytest.mark.integration

REGISTRY = "myregistry.azurecr.io"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
SEEDED_DIGEST = "sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> LocalTLS:
    return ensure_local_tls(tmp_path_factory.mktemp("acr-tls"))


@pytest.fixture(scope="module")
def server(tls: LocalTLS) -> Iterator[RegistryServer]:
    with start_registry(tls=tls) as running:
        yield running


@pytest.fixture
def registry(server: RegistryServer, tls: LocalTLS, monkeypatch: pytest.MonkeyPatch) -> Registry:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_bundle))
    server.state.reset()
    return Registry(server, tls)


class Registry:
    """The stand-in seen from a test: the SDK client, the admin API and raw calls."""

    def __init__(self, server: RegistryServer, tls: LocalTLS) -> None:
        self.server = server
        self.verify = str(tls.ca_bundle)

    def client(self, login_server: str = REGISTRY) -> ContainerRegistryClient:
        endpoint = self.server.registry_endpoint(login_server)
        return ContainerRegistryClient(endpoint, StaticTokenCredential("aad-token"), retry_total=0)

    def seed(self, *images: dict[str, Any]) -> list[dict[str, Any]]:
        reply = self.admin("PUT", "images", {"images": list(images)})
        assert reply.status_code == 200, reply.text
        seeded: list[dict[str, Any]] = reply.json()["images"]
        return seeded

    def admin(self, method: str, path: str, body: Any = None) -> requests.Response:
        url = f"{self.server.url}/_emulator/{path}"
        return requests.request(method, url, json=body, verify=self.verify, timeout=10)

    def logged(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.admin("GET", "requests").json()["requests"]
        return entries

    def bearer(self, scope: str, login_server: str = REGISTRY) -> str:
        """An access token got the way the SDK gets one (exchange, then token)."""
        base = self.server.registry_endpoint(login_server)
        form = {"grant_type": "access_token", "service": login_server, "access_token": "aad-token"}
        refresh = self.post_form(f"{base}/oauth2/exchange", form)["refresh_token"]
        form = {
            "grant_type": "refresh_token",
            "service": login_server,
            "scope": scope,
            "refresh_token": refresh,
        }
        token: str = self.post_form(f"{base}/oauth2/token", form)["access_token"]
        return token

    def post_form(self, url: str, form: dict[str, str]) -> dict[str, Any]:
        reply = requests.post(url, data=form, verify=self.verify, timeout=10)
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body

    def get(self, path: str, login_server: str = REGISTRY, **headers: str) -> requests.Response:
        url = f"{self.server.registry_endpoint(login_server)}{path}"
        return requests.get(url, headers=headers, verify=self.verify, timeout=10)


def error_code(exc: pytest.ExceptionInfo[ResourceNotFoundError]) -> str:
    assert exc.value.response is not None
    exc.value.response.read()  # get_manifest streams its response
    code: str = exc.value.response.json()["errors"][0]["code"]
    return code


def test_a_tag_resolves_to_the_digest_it_was_seeded_with(registry: Registry) -> None:
    registry.seed({"image": f"{REGISTRY}/agents/bot:1.0.0", "digest": SEEDED_DIGEST})
    with registry.client() as client:
        tag = client.get_tag_properties("agents/bot", "1.0.0")
    assert (tag.name, tag.digest) == ("1.0.0", SEEDED_DIGEST)


def test_an_image_seeded_without_a_digest_gets_the_digest_of_its_manifest(registry: Registry) -> None:
    (seeded,) = registry.seed({"image": f"{REGISTRY}/agents/bot:1.0.0"})
    with registry.client() as client:
        manifest = client.get_manifest("agents/bot", "1.0.0")  # the SDK checks the digest
        properties = client.get_manifest_properties("agents/bot", "1.0.0")
    assert manifest.digest == seeded["digest"] == properties.digest
    assert manifest.media_type == OCI_MANIFEST
    assert (properties.operating_system, properties.architecture) == ("linux", "amd64")
    assert properties.tags == ["1.0.0"]
    again = registry.seed({"image": f"{REGISTRY}/agents/bot:1.0.0"})
    assert again[0]["digest"] == seeded["digest"]


def test_a_multi_arch_index_has_its_media_type_and_platforms(registry: Registry) -> None:
    (seeded,) = registry.seed(
        {"image": f"{REGISTRY}/agents/bot:2.0", "platforms": ["linux/amd64", "linux/arm64"]}
    )
    with registry.client() as client:
        index = client.get_manifest("agents/bot", "2.0")
        properties = client.get_manifest_properties("agents/bot", "2.0")
        generated = client._client.container_registry.get_manifest_properties("agents/bot", index.digest)
        children = [
            client.get_manifest_properties("agents/bot", m["digest"]) for m in index.manifest["manifests"]
        ]
    assert index.media_type == OCI_INDEX
    assert [m["platform"] for m in index.manifest["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux"},
    ]
    assert properties.digest == index.digest == seeded["digest"]
    assert properties.architecture is None and properties.operating_system is None
    references = generated.manifest.related_artifacts
    assert [(r.digest, r.architecture, r.operating_system) for r in references] == [
        (child.digest, child.architecture, child.operating_system) for child in children
    ]
    assert [(c.operating_system, c.architecture, c.tags) for c in children] == [
        ("linux", "amd64", []),
        ("linux", "arm64", []),
    ]


def test_a_missing_tag_or_repository_raises_resource_not_found(registry: Registry) -> None:
    registry.seed({"image": f"{REGISTRY}/agents/bot:1.0.0"})
    with registry.client() as client:
        with pytest.raises(ResourceNotFoundError) as missing_tag:
            client.get_tag_properties("agents/bot", "9.9.9")
        with pytest.raises(ResourceNotFoundError) as missing_repository:
            client.get_tag_properties("agents/nobody", "1.0.0")
        with pytest.raises(ResourceNotFoundError) as missing_manifest:
            client.get_manifest("agents/bot", "9.9.9")
    assert error_code(missing_tag) == "TAG_UNKNOWN"
    assert error_code(missing_repository) == "NAME_UNKNOWN"
    assert error_code(missing_manifest) == "MANIFEST_UNKNOWN"


def test_registries_are_kept_apart_by_login_server(registry: Registry) -> None:
    registry.seed(
        {"image": f"{REGISTRY}/app:1", "digest": SEEDED_DIGEST},
        {"image": "other.azurecr.io/app:1", "digest": "sha256:" + "cd" * 32},
    )
    with registry.client() as mine, registry.client("other.azurecr.io") as other:
        assert mine.get_tag_properties("app", "1").digest == SEEDED_DIGEST
        assert other.get_tag_properties("app", "1").digest == "sha256:" + "cd" * 32
    reply = registry.get(
        "/v2/app/manifests/1", Authorization=f"Bearer {registry.bearer('repository:app:pull')}"
    )
    assert reply.status_code == 200
    token_of_other = registry.bearer("repository:app:pull", "other.azurecr.io")
    assert registry.get("/v2/app/manifests/1", Authorization=f"Bearer {token_of_other}").status_code == 401


def test_a_request_without_a_token_gets_the_challenge(registry: Registry) -> None:
    registry.seed({"image": f"{REGISTRY}/agents/bot:1.0.0"})
    for headers in ({}, {"Authorization": "Bearer not-a-token-of-this-registry"}):
        reply = registry.get("/v2/agents/bot/manifests/1.0.0", **headers)
        assert reply.status_code == 401
        assert reply.json()["errors"][0]["code"] == "UNAUTHORIZED"
        challenge = _parse_challenge(reply.headers["WWW-Authenticate"])
        assert challenge == {
            "realm": f"{registry.server.registry_endpoint(REGISTRY)}/oauth2/token",
            "service": REGISTRY,
            "scope": "repository:agents/bot:pull",
        }
    metadata = registry.get("/acr/v1/agents%2Fbot/_tags/1.0.0", Authorization="Bearer x")
    assert (
        _parse_challenge(metadata.headers["WWW-Authenticate"])["scope"]
        == "repository:agents/bot:metadata_read"
    )


def test_the_sdk_answers_the_challenge_with_the_token_exchange(registry: Registry) -> None:
    registry.seed({"image": f"{REGISTRY}/agents/bot:1.0.0"})
    with registry.client() as client:
        client.get_tag_properties("agents/bot", "1.0.0")
    calls = [
        (entry["method"], entry["path"].split(REGISTRY, 1)[1], entry["status"]) for entry in registry.logged()
    ]
    assert calls == [
        ("GET", "/acr/v1/agents%2Fbot/_tags/1.0.0", 401),
        ("POST", "/oauth2/exchange", 200),
        ("POST", "/oauth2/token", 200),
        ("GET", "/acr/v1/agents%2Fbot/_tags/1.0.0", 200),
    ]
    exchange, token, retried = registry.logged()[1:]
    assert exchange["body"]["access_token"] == "***" and token["body"]["refresh_token"] == "***"
    assert token["body"]["scope"] == "repository:agents/bot:metadata_read"
    assert retried["headers"]["Authorization"] == "Bearer ***"


def test_a_scope_granted_for_pull_does_not_allow_push(registry: Registry) -> None:
    url = f"{registry.server.registry_endpoint(REGISTRY)}/v2/app/manifests/1"
    headers = {
        "Authorization": f"Bearer {registry.bearer('repository:app:pull')}",
        "Content-Type": OCI_MANIFEST,
    }
    reply = requests.put(url, data=b"{}", headers=headers, verify=registry.verify, timeout=10)
    assert reply.status_code == 401
    assert _parse_challenge(reply.headers["WWW-Authenticate"])["scope"] == "repository:app:pull,push"
    assert registry.admin("GET", "images").json() == {"images": []}


def test_a_manifest_put_through_v2_makes_the_tag_exist(registry: Registry) -> None:
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": SEEDED_DIGEST,
            "size": 7,
        },
        "layers": [],
    }
    with registry.client() as client:
        digest = client.set_manifest("agents/bot", manifest, tag="3.0", media_type=OCI_MANIFEST)
        tag = client.get_tag_properties("agents/bot", "3.0")
        fetched = client.get_manifest("agents/bot", "3.0")
    assert digest == "sha256:" + hashlib.sha256(json.dumps(manifest).encode()).hexdigest()
    assert tag.digest == digest and fetched.manifest == manifest
    assert registry.admin("GET", "images").json()["images"] == [
        {"image": f"{REGISTRY}/agents/bot:3.0", "digest": digest}
    ]


def test_a_pushed_index_gives_its_children_their_platforms(registry: Registry) -> None:
    child = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {}, "layers": []}
    with registry.client() as client:
        child_digest = client.set_manifest("app", child)
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": child_digest,
                    "size": 9,
                    "platform": {"os": "linux", "architecture": "arm64"},
                }
            ],
        }
        client.set_manifest("app", index, tag="latest", media_type=OCI_INDEX)
        fetched = client.get_manifest("app", "latest")
        properties = client.get_manifest_properties("app", child_digest)
    assert fetched.media_type == OCI_INDEX
    assert (properties.operating_system, properties.architecture) == ("linux", "arm64")


def test_head_and_accept_on_the_manifest_endpoint(registry: Registry) -> None:
    (seeded,) = registry.seed({"image": f"{REGISTRY}/app:1", "platforms": ["linux/amd64", "linux/arm64"]})
    auth = f"Bearer {registry.bearer('repository:app:pull')}"
    url = f"{registry.server.registry_endpoint(REGISTRY)}/v2/app/manifests/1"
    head = requests.head(url, headers={"Authorization": auth}, verify=registry.verify, timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Docker-Content-Digest"] == seeded["digest"]
    assert head.headers["Content-Type"] == OCI_INDEX and int(head.headers["Content-Length"]) > 0
    refused = registry.get("/v2/app/manifests/1", Authorization=auth, Accept=OCI_MANIFEST)
    assert refused.status_code == 404 and refused.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    by_digest = registry.get(
        f"/v2/app/manifests/{seeded['digest']}", Authorization=auth, Accept=f"{OCI_INDEX}, {OCI_MANIFEST}"
    )
    assert by_digest.status_code == 200
    assert "sha256:" + hashlib.sha256(by_digest.content).hexdigest() == seeded["digest"]


def test_a_bad_image_in_the_admin_body_stores_none_of_them(registry: Registry) -> None:
    images = [{"image": f"{REGISTRY}/good:1"}, {"image": f"{REGISTRY}/bad", "platforms": ["linux"]}]
    reply = registry.admin("PUT", "images", {"images": images})
    assert reply.status_code == 400
    assert "login-server/repository:tag" in reply.json()["errors"][0]["message"]
    assert registry.admin("GET", "images").json() == {"images": []}


def test_a_registry_that_closes_connections_unanswered_is_unreachable_and_retryable(
    registry: Registry, server: RegistryServer
) -> None:
    (seeded,) = registry.seed({"image": f"{REGISTRY}/agents/bot:1.0.0"})
    faults = {"faults": [{"path": "/_tags/", "drop": True, "count": 2}]}
    assert registry.admin("PUT", "faults", faults).status_code == 200
    adapter = AcrRegistry(StaticTokenCredential("aad-token"), endpoint_base=server.url, retry_total=1)
    with pytest.raises(PlatformError) as caught:
        adapter.inspect(REGISTRY, "agents/bot", "1.0.0")
    assert (caught.value.code, caught.value.retryable) == ("RegistryUnreachable", True)
    assert [e["status"] for e in registry.logged()] == [None, None]  # the SDK's retry, then given up
    facts = adapter.inspect(REGISTRY, "agents/bot", "1.0.0")  # the next try is answered
    assert facts is not None and facts.digest == seeded["digest"]


def test_the_command_line_prints_ready_and_stops_on_sigterm(tls: LocalTLS) -> None:
    command = [
        sys.executable,
        "-m",
        "localdev.acr_emulator",
        "--port",
        "0",
        "--tls-dir",
        str(tls.ca_bundle.parent),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("READY https://127.0.0.1:")
        url = line.split(" ", 1)[1].strip()
        reply = requests.get(f"{url}/{REGISTRY}/v2/", verify=str(tls.ca_bundle), timeout=10)
        assert reply.status_code == 401 and "WWW-Authenticate" in reply.headers
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.wait()


def test_the_local_stack_runs_the_stand_in_and_names_it(stack: Stack) -> None:
    assert stack.info is not None
    written = json.loads(stack.write_info().read_text())
    assert written["registry_endpoint"] == stack.info.registry_endpoint
    url = f"{stack.info.registry_endpoint}/{REGISTRY}/v2/"
    reply = requests.get(url, verify=stack.info.foundry_ca_bundle, timeout=10)
    assert reply.status_code == 401
    assert _parse_challenge(reply.headers["WWW-Authenticate"])["service"] == REGISTRY


def test_the_adapter_keeps_the_access_token_so_the_next_push_of_a_repository_is_one_request(
    registry: Registry, server: RegistryServer
) -> None:
    pushes = [registry.seed({"image": f"{REGISTRY}/agents/bot:1.{n}.0"})[0] for n in range(2)]
    other = registry.seed({"image": f"{REGISTRY}/agents/other:1.0.0"})[0]
    adapter = AcrRegistry(StaticTokenCredential("aad-token"), endpoint_base=server.url)
    sent = []
    for seeded, repository in [(pushes[0], "agents/bot"), (pushes[1], "agents/bot"), (other, "agents/other")]:
        before = len(registry.logged())
        facts = adapter.inspect(REGISTRY, repository, seeded["digest"])
        assert facts is not None and facts.platforms == ("linux/amd64",)
        sent.append([(_step(e["path"]), e["status"]) for e in registry.logged()[before:]])
    # The SDK alone sends four for every lookup (no access token kept, the refresh token exchanged
    # again each time); the adapter then keeps the token for the repository's lookups.
    assert sent[0] == [("lookup", 401), ("exchange", 200), ("token", 200), ("lookup", 200)]
    assert sent[1] == [("lookup", 200)]
    assert sent[2] == sent[0]  # another repository: another scope, its own token


def _step(path: str) -> str:
    return path.rsplit("/", 1)[-1] if "/oauth2/" in path else "lookup"
