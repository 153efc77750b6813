"""Shared helpers of the HTTP trigger tests: a fake composition root, and requests sent to a
trigger function with the caller's principal."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import azure.functions as func


@dataclass
class FakeSettings:
    table_name: str = "deployments"
    write_role: str = "Deployer.Write"
    auth_enabled: bool = False
    webhooks_allow_loopback: bool = False


@dataclass
class FakeRoot:
    context: object
    settings: FakeSettings

    @staticmethod
    def resolver(host: str) -> list[str]:
        return ["93.184.216.34"]  # a global address: every subscriber's host may be sent to


def post(function, body, *, headers=None, route_params=None, raw=None):
    data = raw if raw is not None else json.dumps(body).encode()
    request = func.HttpRequest(
        "POST",
        "http://localhost/api/x",
        headers={"Content-Type": "application/json", **(headers or {})},
        route_params=route_params or {},
        body=data,
    )
    return function(request)


def get(function, *, params=None, route_params=None):
    return function(
        func.HttpRequest(
            "GET", "http://localhost/api/x", params=params or {}, route_params=route_params or {}, body=b""
        )
    )


def doc(response):
    return json.loads(response.get_body())


def principal(*roles):
    claims = [{"typ": "preferred_username", "val": "ana@example.com"}] + [
        {"typ": "roles", "val": r} for r in roles
    ]
    return base64.b64encode(json.dumps({"auth_typ": "aad", "claims": claims}).encode()).decode()
