"""The registry adapter keeps the access tokens a registry accepted (``KeptAccessTokens``), in
front of a hand-written stand-in for azure-containerregistry's challenge policy (which sends
every call without a token first, and answers a 401 with a new one) and a registry transport."""

from __future__ import annotations

import base64
import json
from typing import Any

from azure.core.pipeline import Pipeline, PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest

from deployer.adapters.registry_tokens import MARGIN_S, KeptAccessTokens

REPO = "https://myregistry.azurecr.io/acr/v1/agents%2Fbot/_manifests/"
OTHER_REPO = "https://myregistry.azurecr.io/acr/v1/agents%2Fother/_manifests/"
LIFETIME_S = 4500.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256'})}.{part(claims)}.c2ln"


class Response:
    def __init__(self, request: Any, status: int) -> None:
        self.request, self.status_code, self.headers = request, status, {}


class Registry(HttpTransport):  # type: ignore[type-arg]
    """Accepts a bearer it issued for that repository (unless revoked); logs what it got."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.issued: dict[str, str] = {}  # header -> the path prefix it is good for
        self.received: list[str | None] = []
        self.with_exp = True

    def issue(self, url: str) -> str:
        claims = {"n": len(self.issued), **({"exp": self.clock() + LIFETIME_S} if self.with_exp else {})}
        header = f"Bearer {jwt(claims)}"
        self.issued[header] = url.rpartition("/")[0]
        return header

    def revoke_all(self) -> None:
        self.issued.clear()

    def send(self, request: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization")
        self.received.append(header)
        good = header in self.issued and request.url.startswith(self.issued[header])
        return Response(request, 200 if good else 401)

    def open(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *args: object) -> None: ...


class Challenge(HTTPPolicy):  # type: ignore[type-arg]
    """What azure-containerregistry 1.2.0's challenge policy does: send as is; on 401, get a new
    token for the call and send it once more."""

    def __init__(self, registry: Registry) -> None:
        super().__init__()
        self.registry = registry

    def send(self, request: PipelineRequest) -> PipelineResponse:  # type: ignore[type-arg]
        response = self.next.send(request)
        if response.http_response.status_code == 401:
            request.http_request.headers["Authorization"] = self.registry.issue(request.http_request.url)
            response = self.next.send(request)
        return response


class Lookups:
    def __init__(self) -> None:
        self.clock = Clock()
        self.registry = Registry(self.clock)
        self.policy = KeptAccessTokens(clock=self.clock)
        self.pipeline = Pipeline(self.registry, [self.policy, Challenge(self.registry)])  # type: ignore[list-item]

    def get(self, url: str) -> int:
        """One call; how many requests it sent."""
        before = len(self.registry.received)
        status = self.pipeline.run(HttpRequest("GET", url)).http_response.status_code
        assert status == 200
        return len(self.registry.received) - before


def test_a_second_call_of_the_same_kind_carries_the_kept_token_and_is_one_request() -> None:
    calls = Lookups()
    assert calls.get(REPO + "sha256:1") == 2  # without a token, answered 401, then with one
    assert calls.get(REPO + "sha256:2") == 1
    assert calls.registry.received[-1] == calls.registry.received[1]


def test_a_call_in_another_repository_gets_its_own_token() -> None:
    calls = Lookups()
    calls.get(REPO + "sha256:1")
    assert calls.get(OTHER_REPO + "sha256:1") == 2
    assert calls.registry.received[2] is None


def test_a_token_is_not_used_within_the_margin_before_its_expiry() -> None:
    calls = Lookups()
    calls.get(REPO + "sha256:1")
    calls.clock.now += LIFETIME_S - MARGIN_S - 1
    assert calls.get(REPO + "sha256:2") == 1
    calls.clock.now += 2
    assert calls.get(REPO + "sha256:3") == 2
    assert calls.registry.received[-2] is None


def test_a_kept_token_the_registry_refuses_is_replaced_by_the_one_the_challenge_brings() -> None:
    calls = Lookups()
    calls.get(REPO + "sha256:1")
    calls.registry.revoke_all()
    assert calls.get(REPO + "sha256:2") == 2  # the kept token refused, then a new one
    assert calls.get(REPO + "sha256:3") == 1
    assert calls.registry.received[-1] == calls.registry.received[-2]


def test_a_token_without_a_readable_expiry_is_not_kept() -> None:
    calls = Lookups()
    calls.registry.with_exp = False
    calls.get(REPO + "sha256:1")
    assert calls.get(REPO + "sha256:2") == 2
