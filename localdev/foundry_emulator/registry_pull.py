"""How a new version's image pull turns out: the emulator asks the registry stand-in (the
``registry_endpoint`` setting; registry ``R`` at ``{registry_endpoint}/R``) as the platform's
image pull asks ACR, through its data plane: the token exchange, then ``HEAD /v2/{repository}/
manifests/{reference}``. So the two stand-ins agree on which images exist: a push the registry
does not hold fails provisioning with ``AcrImageNotFound``, an unreachable registry with
``RegistryNotFound``, a refused token with ``UnauthorizedAcrPull``."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from localdev.acr_emulator.manifests import MANIFEST_TYPES

_TIMEOUT_S = 10.0
#: The bearer the platform would get for the project's managed identity (the stand-in takes any).
_PROJECT_TOKEN = "foundry-project-identity"  # noqa: S105 - not a secret: the stand-in takes any


class RegistryPull:
    """Pulls (by ``HEAD``) from the registry stand-in, trusting the local CA in ``ca_bundle``."""

    def __init__(self, ca_bundle: Path | str | None) -> None:
        self._context = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)

    def failure(self, registry_endpoint: str | None, image: str) -> str | None:
        """The provisioning error code of pulling ``image``; ``None`` when it can be pulled (or
        when no registry is configured: then every image can)."""
        if not registry_endpoint:
            return None
        login_server, _, rest = image.partition("/")
        repository, reference = _split(rest)
        base = f"{registry_endpoint.rstrip('/')}/{login_server.lower()}"
        try:
            token = self._token(base, login_server.lower(), repository)
            with self._send("HEAD", f"{base}/v2/{repository}/manifests/{reference}", bearer=token):
                pass
        except urllib.error.HTTPError as exc:
            return "AcrImageNotFound" if exc.code == 404 else "UnauthorizedAcrPull"
        except (urllib.error.URLError, OSError):
            return "RegistryNotFound"
        return None

    def _token(self, base: str, service: str, repository: str) -> str:
        exchange = {"grant_type": "access_token", "service": service, "access_token": _PROJECT_TOKEN}
        refresh = self._form(f"{base}/oauth2/exchange", exchange)["refresh_token"]
        scope = f"repository:{repository}:pull"
        form = {"grant_type": "refresh_token", "service": service, "scope": scope, "refresh_token": refresh}
        return str(self._form(f"{base}/oauth2/token", form)["access_token"])

    def _form(self, url: str, form: dict[str, str]) -> dict[str, str]:
        body = urllib.parse.urlencode(form).encode()
        with self._send("POST", url, body=body) as answer:
            found: dict[str, str] = json.load(answer)
        return found

    def _send(self, method: str, url: str, *, body: bytes | None = None, bearer: str | None = None) -> Any:
        """The open response (the caller closes it); ``HTTPError`` for an error status."""
        headers = {"Accept": ", ".join(sorted(MANIFEST_TYPES))}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        # https only: registry_endpoint is checked to be an https:// origin (settings).
        request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
        return urllib.request.urlopen(request, timeout=_TIMEOUT_S, context=self._context)  # noqa: S310


def _split(rest: str) -> tuple[str, str]:
    """``repository:tag`` or ``repository@sha256:...`` as (repository, reference)."""
    if "@" in rest:
        repository, _, digest = rest.partition("@")
        return repository, digest
    repository, _, tag = rest.rpartition(":")
    return (repository, tag) if repository else (rest, "latest")
