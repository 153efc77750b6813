"""A client of the registry stand-in's admin API for the tests and benchmarks: images put in
place as ``docker push`` puts them in ACR before its event is sent, and the request log."""

from __future__ import annotations

import json
import re
import ssl
import urllib.request
from collections.abc import Iterable
from typing import Any

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class RegistryAdmin:
    """``PUT /_emulator/images`` and ``GET /_emulator/requests`` of the stand-in at ``origin``,
    trusting the local CA in ``ca_bundle``."""

    def __init__(self, origin: str, ca_bundle: str) -> None:
        self.origin = origin.rstrip("/")
        self._context = ssl.create_default_context(cafile=ca_bundle)

    def seed(self, images: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Put ``[{"image", "digest"?, "platforms"?}]`` in place; the stand-in's descriptions."""
        seeded: list[dict[str, Any]] = self._call("PUT", "images", {"images": images})["images"]
        return seeded

    def seed_pushed(self, events: Iterable[Any]) -> None:
        """Put in place the image of every well-formed ImagePushed event (Event Grid or
        CloudEvents schema) in ``events``, with the event's digest; others are left alone."""
        entries = [entry for event in events if (entry := pushed_image(event)) is not None]
        if entries:
            self.seed(entries)

    def requests(self) -> list[dict[str, Any]]:
        """The registry requests the stand-in received, oldest first."""
        logged: list[dict[str, Any]] = self._call("GET", "requests")["requests"]
        return logged

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        url, headers = f"{self.origin}/_emulator/{path}", {"Content-Type": "application/json"}
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
        with urllib.request.urlopen(request, timeout=30, context=self._context) as answer:  # noqa: S310
            return json.load(answer)


def pushed_image(event: Any) -> dict[str, str] | None:
    """``{"image", "digest"}`` of a well-formed ImagePushed event with a tag, else ``None``."""
    data = event.get("data") if isinstance(event, dict) else None
    if not isinstance(data, dict) or data.get("action") != "push":
        return None
    target, request = data.get("target") or {}, data.get("request") or {}
    host, repository, tag = request.get("host"), target.get("repository"), target.get("tag")
    digest = target.get("digest")
    if not all(isinstance(v, str) and v for v in (host, repository, tag)):
        return None
    if not (isinstance(digest, str) and _DIGEST.match(digest)):
        return None
    return {"image": f"{host}/{repository}:{tag}", "digest": digest}
