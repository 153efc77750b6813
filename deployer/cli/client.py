"""A small client of the deployer's HTTP API for the CLI: the standard library only (urllib),
so the CLI runs wherever Python does, without the app's dependencies."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deployer.cli.terminal import printable

_ATTEMPTS = 3
_MAX_WAIT_S = 5.0


class ApiError(Exception):
    """The deployer refused the request (``status`` 4xx, with its ``problem``), failed (5xx), or
    could not be reached (``status`` is ``None``)."""

    def __init__(self, message: str, *, status: int | None = None, problem: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.problem = problem

    @property
    def refused(self) -> bool:
        """A 4xx: the request itself was refused (sending it again will not help)."""
        return self.status is not None and 400 <= self.status < 500


@dataclass(frozen=True, kw_only=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: Any


class Client:
    """JSON requests to one deployer (``url``), with its function key if given. Strings in the
    answers are :func:`printable` unless ``keep_text`` (``--json``: ``json.dumps`` escapes them)."""

    def __init__(
        self, url: str, key: str | None = None, *, timeout_s: float = 30.0, keep_text: bool = False
    ) -> None:
        self.url = url.rstrip("/")
        self.key = key
        self.timeout_s = timeout_s
        self.keep_text = keep_text

    def get(self, path: str, **query: str | int | None) -> Any:
        """GET ``path`` with the query parameters that are not ``None``; the JSON answer."""
        params = {k: str(v) for k, v in query.items() if v is not None}
        suffix = "?" + urllib.parse.urlencode(params) if params else ""
        return self.send("GET", path + suffix).body

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        *,
        retry: bool = True,
    ) -> Response:
        """One request. Retries what cannot have taken effect or says to retry (unreachable, 503,
        409 with Retry-After); POSTs carry an Idempotency-Key, so a retry never starts twice."""
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return self._once(method, path, body, headers or {})
            except _Retry as again:
                if attempt == _ATTEMPTS or not retry:
                    raise again.error from None
                time.sleep(min(again.after_s, _MAX_WAIT_S))
        raise AssertionError("unreachable")

    def _once(self, method: str, path: str, body: Any, headers: Mapping[str, str]) -> Response:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310
        request.add_header("Accept", "application/json, application/problem+json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.key:
            request.add_header("x-functions-key", self.key)
        for name, value in headers.items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:  # noqa: S310
                return Response(
                    status=answer.status,
                    headers=dict(answer.headers),
                    body=_decode(answer.read(), keep_text=self.keep_text),
                )
        except urllib.error.HTTPError as exc:
            raise _error_for(method, path, exc) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise _Retry(ApiError(f"cannot reach {self.url}: {reason}"), after_s=0.5) from None


class _Retry(Exception):
    def __init__(self, error: ApiError, *, after_s: float) -> None:
        super().__init__(str(error))
        self.error = error
        self.after_s = after_s


def _error_for(method: str, path: str, exc: urllib.error.HTTPError) -> Exception:
    raw = exc.read()
    try:
        body = _decode(raw)
    except ValueError:
        body = None
    problem = body if isinstance(body, dict) else None
    detail = (problem or {}).get("detail") or printable(raw.decode(errors="replace")[:300]) or exc.reason
    title = (problem or {}).get("title")
    message = f"{method} {path}: {exc.code} {title + ': ' if title else ''}{detail}"
    error = ApiError(message, status=exc.code, problem=problem)
    retry_after = str(exc.headers.get("Retry-After") or "")
    if exc.code == 503 or (exc.code == 409 and retry_after):
        return _Retry(error, after_s=float(retry_after) if retry_after.isdigit() else 1.0)
    return error


def _decode(raw: bytes, *, keep_text: bool = False) -> Any:
    """The answer's JSON, every string in it :func:`printable`: the deployer's answers carry text
    others wrote (a ``reason``, a caller's name, a platform message), and the CLI's own control
    sequences (the live line, colours) must stay the only ones it writes."""
    if not raw.strip():
        return None
    body = json.loads(raw)
    return body if keep_text else _printable(body)


def _printable(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [_printable(item) for item in value]
    if isinstance(value, dict):
        return {printable(str(key)): _printable(item) for key, item in value.items()}
    return value
