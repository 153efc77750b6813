"""Bearer checks on registry calls and the two token endpoints under ``/{login server}/oauth2/``.

A call without a valid access token for the needed scope gets 401 with
``WWW-Authenticate: Bearer realm=...,service=...,scope=...``: the SDK's challenge policy answers
it by exchanging its AAD token for a refresh token, then for an access token of that scope, and
sends the call again. Any non-empty AAD access token is accepted, as the Foundry emulator accepts
any bearer.
"""

from __future__ import annotations

from http import HTTPStatus

from localdev.acr_emulator.state import RegistryState
from localdev.acr_emulator.tokens import InvalidToken, Scope
from localdev.acr_emulator.wire import RegistryError, Reply, Request, bad_request, json_reply

_AAD_GRANTS = frozenset({"access_token", "access_token_refresh_token"})


def authorize(state: RegistryState, request: Request, registry: str, needed: Scope) -> None:
    """Return when the request's bearer grants ``needed`` on ``registry``; raise the challenge."""
    header = request.header("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        try:
            granted = state.tokens.granted(token.strip(), registry)
        except InvalidToken:
            granted = []
        if any(_covers(scope, needed) for scope in granted):
            return
    raise challenge(request, registry, needed)


def challenge(request: Request, registry: str, needed: Scope | None) -> RegistryError:
    """The 401 that tells the client where and for what to get a token."""
    realm = f"https://{request.header('Host') or 'localhost'}/{registry}/oauth2/token"
    parts = [f'realm="{realm}"', f'service="{registry}"']
    detail = None
    if needed is not None:
        parts.append(f'scope="{needed}"')
        detail = [{"Type": needed.type, "Name": needed.name, "Action": a} for a in sorted(needed.actions)]
    headers = {"WWW-Authenticate": "Bearer " + ",".join(parts)}
    return RegistryError(
        HTTPStatus.UNAUTHORIZED, "UNAUTHORIZED", "authentication required", detail=detail, headers=headers
    )


def exchange(state: RegistryState, request: Request, registry: str) -> Reply:
    """``POST /oauth2/exchange``: an AAD access token for a refresh token of this registry."""
    form = request.form()
    if form.get("grant_type") not in _AAD_GRANTS:
        raise bad_request("UNSUPPORTED", f"grant_type must be one of {sorted(_AAD_GRANTS)}.")
    _check_service(form, registry)
    if not form.get("access_token"):
        raise _unauthorized("an AAD access_token is required")
    return json_reply(HTTPStatus.OK, {"refresh_token": state.tokens.refresh_token(registry)})


def token(state: RegistryState, request: Request, registry: str) -> Reply:
    """``POST /oauth2/token``: a refresh token of this registry for an access token of ``scope``."""
    form = request.form()
    if form.get("grant_type") != "refresh_token":
        raise _unauthorized("anonymous pull is not enabled; grant_type must be refresh_token")
    _check_service(form, registry)
    try:
        state.tokens.check_refresh(form.get("refresh_token", ""), registry)
    except InvalidToken as exc:
        raise _unauthorized(f"invalid refresh token: {exc}") from exc
    scopes = Scope.parse_all(form.get("scope", ""))
    return json_reply(HTTPStatus.OK, {"access_token": state.tokens.access_token(registry, scopes)})


def _check_service(form: dict[str, str], registry: str) -> None:
    if form.get("service", "").lower() != registry:
        raise bad_request("INVALID_REQUEST", f"service must be this registry's login server, {registry}.")


def _covers(granted: Scope, needed: Scope) -> bool:
    return (granted.type, granted.name) == (needed.type, needed.name) and needed.actions <= granted.actions


def _unauthorized(message: str) -> RegistryError:
    return RegistryError(HTTPStatus.UNAUTHORIZED, "UNAUTHORIZED", message)
