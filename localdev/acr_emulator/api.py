"""The registry routes, each under ``/{login server}`` (the SDK's endpoint for registry ``R`` is
``{origin}/R``; the SDK percent-encodes ``/`` in repository names, plain slashes work too):

``POST /oauth2/exchange`` and ``POST /oauth2/token``
    The token exchange (``localdev.acr_emulator.auth``).
``GET /v2/``
    The API version check: 200 ``{}`` with a token, the challenge without.
``GET /acr/v1/{name}/_tags/{tag}``
    Tag properties: ``{"registry", "imageName", "tag": {"name", "digest", ...}}``.
``GET /acr/v1/{name}/_manifests/{digest}``
    Manifest properties: ``{"registry", "imageName", "manifest": {"digest", "mediaType",
    "architecture", "os", "references": [{"digest", "architecture", "os"}], "tags", ...}}``;
    ``references`` only for an index, ``architecture``/``os`` only for a platform's image.
``GET|HEAD|PUT /v2/{name}/manifests/{reference}``
    The OCI distribution manifest endpoint, with ``Docker-Content-Digest``.

Missing things answer 404 ``NAME_UNKNOWN`` (repository), ``TAG_UNKNOWN`` (``/acr/v1`` tag) or
``MANIFEST_UNKNOWN``; a call without a fitting bearer answers the 401 challenge.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from localdev.acr_emulator import auth
from localdev.acr_emulator.manifests import MANIFEST_TYPES, accepts, digest_of, image_size, parse_pushed
from localdev.acr_emulator.seeding import DIGEST
from localdev.acr_emulator.state import Manifest, RegistryState, Repository
from localdev.acr_emulator.tokens import InvalidToken, Scope
from localdev.acr_emulator.wire import (
    RegistryError,
    Reply,
    Request,
    bad_request,
    json_reply,
    manifest_unknown,
)

Handler = Callable[[RegistryState, Request, dict[str, str]], Reply]
_PREFIX = r"^/(?P<registry>[^/_][^/]*)"
_CHANGEABLE = {"deleteEnabled": True, "writeEnabled": True, "readEnabled": True, "listEnabled": True}
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


def _exchange(state: RegistryState, request: Request, path: dict[str, str]) -> Reply:
    return auth.exchange(state, request, path["registry"])


def _token(state: RegistryState, request: Request, path: dict[str, str]) -> Reply:
    return auth.token(state, request, path["registry"])


def _version_check(state: RegistryState, request: Request, path: dict[str, str]) -> Reply:
    registry, token = path["registry"], (request.header("Authorization") or "").partition(" ")[2]
    try:
        state.tokens.granted(token.strip(), registry)
    except InvalidToken as exc:
        raise auth.challenge(request, registry, None) from exc
    return json_reply(HTTPStatus.OK, {})


def _tag_properties(state: RegistryState, request: Request, path: dict[str, str]) -> Reply:
    registry, name, reference = _authorized(state, request, path, "metadata_read")
    tag = state.tag(registry, name, reference)
    attributes = {
        "name": tag.name,
        "digest": tag.digest,
        "createdTime": tag.created,
        "lastUpdateTime": tag.updated,
        "signed": False,
        "changeableAttributes": _CHANGEABLE,
    }
    return json_reply(HTTPStatus.OK, {"registry": registry, "imageName": name, "tag": attributes})


def _manifest_properties(state: RegistryState, request: Request, path: dict[str, str]) -> Reply:
    registry, name, digest = _authorized(state, request, path, "metadata_read")
    repo = state.repository(registry, name)
    manifest = repo.manifests.get(digest)
    if manifest is None:
        raise manifest_unknown(digest)
    body = {"registry": registry, "imageName": name, "manifest": _manifest_attributes(repo, manifest)}
    return json_reply(HTTPStatus.OK, body)


def _manifest_attributes(repo: Repository, manifest: Manifest) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "digest": manifest.digest,
        "imageSize": image_size(manifest.content),
        "createdTime": manifest.created,
        "lastUpdateTime": manifest.created,
        "mediaType": manifest.media_type,
        "tags": repo.tags_of(manifest.digest),
        "changeableAttributes": {**_CHANGEABLE, "quarantineState": "Passed"},
    }
    platform = manifest.platform or _platform_in_indexes(repo, manifest.digest)
    if platform is not None:
        attributes |= {"architecture": platform.architecture, "os": platform.os}
    if manifest.children:
        attributes["references"] = [
            {"digest": child.digest}
            | (
                {"architecture": child.platform.architecture, "os": child.platform.os}
                if child.platform
                else {}
            )
            for child in manifest.children
        ]
    return attributes


def _platform_in_indexes(repo: Repository, digest: str) -> Any:
    """A pushed image's platform as an index in the repository lists it (no config blobs here)."""
    children = (child for m in repo.manifests.values() for child in m.children if child.digest == digest)
    return next((child.platform for child in children if child.platform is not None), None)


def _read_manifest(state: RegistryState, request: Request, path: dict[str, str]) -> Reply:
    registry, name, reference = _authorized(state, request, path, "pull")
    manifest = state.manifest(registry, name, reference)
    accept = request.header("Accept")
    if not accepts(accept, manifest.media_type):
        raise RegistryError(
            HTTPStatus.NOT_FOUND,
            "MANIFEST_UNKNOWN",
            f"manifest of media type {manifest.media_type} not in Accept: {accept}",
            detail={"Accept": sorted(MANIFEST_TYPES)},
        )
    headers = {"Docker-Content-Digest": manifest.digest, "Docker-Distribution-Api-Version": "registry/2.0"}
    return Reply(HTTPStatus.OK, manifest.content, manifest.media_type, headers)


def _put_manifest(state: RegistryState, request: Request, path: dict[str, str]) -> Reply:
    registry, name, reference = _authorized(state, request, path, "pull", "push")
    media_type, children = parse_pushed(request.body, request.header("Content-Type"))
    digest = digest_of(request.body)
    is_digest = DIGEST.match(reference) is not None
    if is_digest and reference != digest:
        raise bad_request("DIGEST_INVALID", "The manifest's digest differs from the reference.", reference)
    if not is_digest and not _TAG.match(reference):
        raise bad_request("MANIFEST_INVALID", f"{reference!r} is neither a tag nor a sha256 digest.")
    manifest = Manifest(digest, media_type, request.body, None, tuple(children), state.now())
    state.store(registry, name, manifest, None if is_digest else reference)
    headers = {
        "Docker-Content-Digest": digest,
        "Location": f"/{registry}/v2/{name}/manifests/{digest}",
        "Docker-Distribution-Api-Version": "registry/2.0",
    }
    return Reply(HTTPStatus.CREATED, headers=headers)


def _authorized(
    state: RegistryState, request: Request, path: dict[str, str], *actions: str
) -> tuple[str, str, str]:
    """The registry, repository and reference of the path, once the bearer allows ``actions``."""
    registry, name, reference = path["registry"], path["name"], path["reference"]
    auth.authorize(state, request, registry, Scope("repository", name, frozenset(actions)))
    return registry, name, reference


_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    ("POST", re.compile(_PREFIX + r"/oauth2/exchange$"), _exchange),
    ("POST", re.compile(_PREFIX + r"/oauth2/token$"), _token),
    ("GET", re.compile(_PREFIX + r"/v2/?$"), _version_check),
    ("GET", re.compile(_PREFIX + r"/acr/v1/(?P<name>.+)/_tags/(?P<reference>[^/]+)$"), _tag_properties),
    (
        "GET",
        re.compile(_PREFIX + r"/acr/v1/(?P<name>.+)/_manifests/(?P<reference>[^/]+)$"),
        _manifest_properties,
    ),
    ("GET", re.compile(_PREFIX + r"/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)$"), _read_manifest),
    ("HEAD", re.compile(_PREFIX + r"/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)$"), _read_manifest),
    ("PUT", re.compile(_PREFIX + r"/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)$"), _put_manifest),
]


def handle(state: RegistryState, request: Request) -> Reply:
    """Serve one registry request (not logged here)."""
    allowed = []
    for method, pattern, handler in _ROUTES:
        match = pattern.match(request.path)
        if match is None:
            continue
        if method != request.method:
            allowed.append(method)
            continue
        path = {key: unquote(value) for key, value in match.groupdict().items()}
        path["registry"] = path["registry"].lower()
        try:
            return handler(state, request, path)
        except RegistryError as error:
            return error.reply()
    if allowed:
        return RegistryError(
            HTTPStatus.METHOD_NOT_ALLOWED, "UNSUPPORTED", "The operation is unsupported."
        ).reply()
    return RegistryError(HTTPStatus.NOT_FOUND, "NOT_FOUND", f"No route for {request.path}.").reply()
