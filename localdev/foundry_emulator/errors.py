"""Azure-shaped errors: ``{"error": {"code": ..., "message": ...}}`` with an HTTP status."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from localdev.https_server import StandInError


class ApiError(StandInError):
    """An error answered to the client as an Azure-shaped JSON body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, code, message, headers=headers)
        self.param = param

    def body(self) -> dict[str, Any]:
        """Return the JSON body for this error."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        if self.status == HTTPStatus.BAD_REQUEST:
            error["type"] = "invalid_request_error"
        return {"error": error}


def bad_request(message: str, *, code: str = "invalid_payload", param: str | None = None) -> ApiError:
    """Return a 400 error."""
    return ApiError(HTTPStatus.BAD_REQUEST, code, message, param=param)


def not_found(message: str) -> ApiError:
    """Return a 404 error."""
    return ApiError(HTTPStatus.NOT_FOUND, "not_found", message)


def conflict(message: str, *, code: str = "conflict") -> ApiError:
    """Return a 409 error."""
    return ApiError(HTTPStatus.CONFLICT, code, message)


def status_code_name(status: int) -> str:
    """Return an Azure-style error code for an HTTP status, e.g. 429 -> ``TooManyRequests``."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return f"Http{status}"
    return "".join(word.capitalize() for word in phrase.replace("-", " ").split())
