"""ACR's two-step token exchange: an AAD access token buys a refresh token for one registry
(``POST /oauth2/exchange``), a refresh token buys an access token for some scopes
(``POST /oauth2/token``); registry calls carry the access token as a bearer.

Tokens are JWTs signed with a secret of this process (HS256), so a token from elsewhere, for
another registry, expired, or of the wrong kind is refused. The SDK reads the refresh token's
``exp`` by base64-decoding its payload (``_helpers._parse_exp_time``), so it must be a JWT.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

REFRESH_LIFETIME_S = 3 * 3600
ACCESS_LIFETIME_S = 75 * 60
ISSUER = "Azure Container Registry"


@dataclass(frozen=True)
class Scope:
    """One requested or granted access, e.g. ``repository:agents/bot:pull,push``."""

    type: str
    name: str
    actions: frozenset[str]

    @classmethod
    def parse_all(cls, text: str) -> list[Scope]:
        """Parse space-separated scopes; malformed ones are ignored, as registries do."""
        found = []
        for item in text.split():
            kind, _, rest = item.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind and name and actions:
                found.append(cls(kind, name, frozenset(filter(None, actions.split(",")))))
        return found

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(sorted(self.actions))}"


class InvalidToken(Exception):
    """The token is malformed, forged, expired, of the wrong kind or for another registry."""


class TokenIssuer:
    """Issues and checks this stand-in's refresh and access tokens."""

    def __init__(self, clock: Callable[[], float] = time.time, secret: bytes | None = None) -> None:
        self._clock = clock
        self._secret = secret or secrets.token_bytes(32)

    def refresh_token(self, service: str) -> str:
        """A refresh token for registry ``service``."""
        return self._sign({"grant_type": "refresh_token", "aud": service}, REFRESH_LIFETIME_S)

    def access_token(self, service: str, scopes: list[Scope]) -> str:
        """An access token for registry ``service`` granting ``scopes``."""
        access = [{"type": s.type, "name": s.name, "actions": sorted(s.actions)} for s in scopes]
        return self._sign({"grant_type": "access_token", "aud": service, "access": access}, ACCESS_LIFETIME_S)

    def check_refresh(self, token: str, service: str) -> None:
        """Raise ``InvalidToken`` unless ``token`` is a live refresh token for ``service``."""
        self._claims(token, service, "refresh_token")

    def granted(self, token: str, service: str) -> list[Scope]:
        """The scopes a live access token for ``service`` grants (``InvalidToken`` otherwise)."""
        claims = self._claims(token, service, "access_token")
        return [
            Scope(str(item["type"]), str(item["name"]), frozenset(item["actions"]))
            for item in claims.get("access") or []
        ]

    def _sign(self, claims: dict[str, Any], lifetime_s: int) -> str:
        now = int(self._clock())
        payload = {
            "jti": uuid.uuid4().hex,
            "iss": ISSUER,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime_s,
            **claims,
        }
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{head}.{body}.{self._mac(f'{head}.{body}')}"

    def _claims(self, token: str, service: str, kind: str) -> dict[str, Any]:
        parts = token.split(".")
        if len(parts) != 3 or not hmac.compare_digest(parts[2], self._mac(f"{parts[0]}.{parts[1]}")):
            raise InvalidToken("not a token of this registry")
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        if claims.get("grant_type") != kind:
            raise InvalidToken(f"not an {kind.replace('_', ' ')}")
        if claims.get("aud") != service:
            raise InvalidToken("issued for another registry")
        if float(claims.get("exp", 0)) <= self._clock():
            raise InvalidToken("expired")
        return claims

    def _mac(self, signing_input: str) -> str:
        return _b64(hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
