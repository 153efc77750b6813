"""Request and reply values, and ACR-shaped errors: ``{"errors": [{"code", "message", "detail"}]}``
(the body of the OCI distribution spec, which ACR answers on ``/v2/``, ``/acr/v1/`` and ``/oauth2/``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from localdev import https_server

JSON_TYPE = "application/json; charset=utf-8"


class Request(https_server.Request):
    """One registry request; an unreadable body is ACR's 400 ``INVALID_REQUEST``."""

    def invalid(self, message: str) -> Exception:
        return RegistryError(HTTPStatus.BAD_REQUEST, "INVALID_REQUEST", message)


@dataclass
class Reply:
    """One HTTP reply; ``body`` is sent as is with ``content_type``."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(status: int, body: Any, **headers: str) -> Reply:
    """Return a reply whose body is ``body`` as JSON."""
    return Reply(status, json.dumps(body).encode(), JSON_TYPE, dict(headers))


class RegistryError(https_server.StandInError):
    """An error answered as an ACR error body with an HTTP status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        detail: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, code, message, headers=headers)
        self.detail = detail

    def reply(self) -> Reply:
        """Return the reply for this error."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            error["detail"] = self.detail
        return json_reply(self.status, {"errors": [error]}, **self.headers)


def name_unknown(repository: str) -> RegistryError:
    """The repository does not exist in the registry."""
    return RegistryError(
        HTTPStatus.NOT_FOUND,
        "NAME_UNKNOWN",
        "repository name not known to registry",
        detail={"name": repository},
    )


def manifest_unknown(reference: str) -> RegistryError:
    """No manifest has this tag or digest (ACR's wording for a tag)."""
    if reference.startswith("sha256:"):
        return RegistryError(
            HTTPStatus.NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown", detail={"Digest": reference}
        )
    return RegistryError(
        HTTPStatus.NOT_FOUND,
        "MANIFEST_UNKNOWN",
        f'manifest tagged by "{reference}" is not found',
        detail={"Tag": reference},
    )


def tag_unknown(tag: str) -> RegistryError:
    """The repository exists, the tag does not (``/acr/v1/{name}/_tags/{tag}``)."""
    return RegistryError(
        HTTPStatus.NOT_FOUND, "TAG_UNKNOWN", "the specified tag does not exist", detail={"Tag": tag}
    )


def bad_request(code: str, message: str, detail: Any = None) -> RegistryError:
    """Return a 400 error."""
    return RegistryError(HTTPStatus.BAD_REQUEST, code, message, detail=detail)
