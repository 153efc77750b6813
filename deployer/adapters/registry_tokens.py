"""Registry access tokens kept between calls (an azure-core policy of :class:`AcrRegistry`).

azure-containerregistry 1.2.0 keeps no access token: its challenge policy's ``on_request`` is a
placeholder (``_authentication_policy.py`` lines 30-39, "Future caching implementation will be
included here"), so every call goes out without ``Authorization``, is answered 401, and is sent
again with a token exchanged for that challenge. Its refresh-token check is inverted
(``_exchange_client.py`` line 66: ``self._expiration_time - time.time() > 300`` asks for a new
refresh token while the one it has is still good), so each exchange is two more requests
(``/oauth2/exchange``, ``/oauth2/token``): four requests for one lookup.

:class:`KeptAccessTokens` runs before that policy. After a call succeeds with a bearer the SDK
obtained, it keeps the token for that kind of call (method and path up to the reference: one
repository and operation, so one challenged scope) until shortly before the token's ``exp``, and
puts it on the next such call, which then is one request. A kept token the registry refuses is
dropped, and the SDK's policy answers the 401 as it always does. Tokens stay in memory only.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import SansIOHTTPPolicy

#: A kept token is used until this many seconds before its ``exp`` (clock skew, a slow call).
MARGIN_S = 60.0
_HEADER = "Authorization"


class KeptAccessTokens(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Puts the bearer the registry last accepted for a kind of call on the next such call.

    Sans-I/O: azure-containerregistry hands its keyword arguments to its token-exchange client
    too, so the policy also sits in that pipeline (where no call carries a bearer, and nothing
    is kept); each pipeline wraps it in its own runner."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def on_request(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        http = request.http_request
        if _HEADER not in http.headers:
            kept = self._kept(_kind(http.method, http.url))
            if kept is not None:
                http.headers[_HEADER] = kept

    def on_response(self, request: PipelineRequest, response: PipelineResponse) -> None:  # type: ignore[type-arg]
        http = request.http_request
        kind, status, sent = (
            _kind(http.method, http.url),
            response.http_response.status_code,
            http.headers.get(_HEADER),
        )
        if status == 401:
            self._drop(kind)
        elif status < 400 and sent is not None:
            self._keep(kind, sent)

    def _kept(self, kind: tuple[str, str]) -> str | None:
        with self._lock:
            found = self._tokens.get(kind)
        if found is None or found[1] - MARGIN_S <= self._clock():
            return None
        return found[0]

    def _keep(self, kind: tuple[str, str], header: str) -> None:
        expires = _expiry(header)
        if expires is None:
            return
        now = self._clock()
        with self._lock:
            self._tokens = {k: v for k, v in self._tokens.items() if v[1] - MARGIN_S > now}
            self._tokens[kind] = (header, expires)

    def _drop(self, kind: tuple[str, str]) -> None:
        with self._lock:
            self._tokens.pop(kind, None)


def _kind(method: str, url: str) -> tuple[str, str]:
    """A call's method and its path without the last segment (the tag or digest)."""
    return method.upper(), urlsplit(url).path.rpartition("/")[0]


def _expiry(header: str) -> float | None:
    """The ``exp`` of a ``Bearer <JWT>`` header; ``None`` when there is none to read."""
    scheme, _, token = header.partition(" ")
    parts = token.split(".")
    if scheme.lower() != "bearer" or len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None
