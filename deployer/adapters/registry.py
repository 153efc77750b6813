"""Azure Container Registry through azure-containerregistry: the
:class:`deployer.ports.ImageRegistry` adapter. One ``ContainerRegistryClient`` per login server,
made on first use, with the deployer's credential (it needs AcrPull on the registry). Each
client keeps the access tokens the registry accepted (``registry_tokens.py``): a repeated lookup
is one request, not the SDK's four.

The registry's endpoint is ``https://{login server}``; with ``endpoint_base`` (a local-only
setting) it is ``{endpoint_base}/{login server}``, so the stand-in that serves every registry
under its origin is reached by configuration alone. TLS trust comes from the
system (``REQUESTS_CA_BUNDLE`` locally).

Calls, cheapest first: a tag is resolved with ``get_tag_properties``; the digest's
``get_manifest_properties`` shows the image exists and, for an image, its platform. Only when no
platform is reported (an index, or an image whose config the registry did not read) is the
manifest itself read (``get_manifest``): its media type, and an index's ``manifests[].platform``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from azure.core.credentials import TokenCredential

from deployer.adapters.registry_tokens import KeptAccessTokens
from deployer.domain.errors import PlatformError
from deployer.domain.images import ImageFacts

if TYPE_CHECKING:
    from azure.containerregistry import ContainerRegistryClient

AUDIENCE = "https://containerregistry.azure.net"
UNAUTHORIZED = "registry_unauthorized"


class AcrRegistry:
    """Looks images up in Azure Container Registries with the deployer's own credential."""

    def __init__(
        self,
        credential: TokenCredential,
        *,
        endpoint_base: str | None = None,
        retry_total: int = 3,
        read_timeout_s: float = 30.0,
    ) -> None:
        self._credential = credential
        self._base = endpoint_base.rstrip("/") if endpoint_base else None
        self._options: dict[str, Any] = {"retry_total": retry_total, "read_timeout": read_timeout_s}
        self._clients: dict[str, ContainerRegistryClient] = {}
        self._lock = threading.Lock()

    def endpoint(self, registry: str) -> str:
        """Where the registry whose login server is ``registry`` is called."""
        return f"{self._base}/{registry}" if self._base else f"https://{registry}"

    def inspect(self, registry: str, repository: str, reference: str) -> ImageFacts | None:
        from azure.core.exceptions import ResourceNotFoundError

        client = self._client(registry)
        try:
            with _translated_errors(registry):
                digest = reference
                if not reference.startswith("sha256:"):
                    digest = str(client.get_tag_properties(repository, reference).digest)
                properties = client.get_manifest_properties(repository, digest)
                platform = _platform(properties.operating_system, properties.architecture)
                if platform is not None:
                    return ImageFacts(digest=digest, media_type=None, platforms=(platform,))
                manifest = client.get_manifest(repository, digest)
        except ResourceNotFoundError:
            return None
        return ImageFacts(
            digest=digest, media_type=manifest.media_type, platforms=_index_platforms(manifest.manifest)
        )

    def _client(self, registry: str) -> ContainerRegistryClient:
        with self._lock:
            client = self._clients.get(registry)
            if client is None:
                from azure.containerregistry import ContainerRegistryClient

                client = ContainerRegistryClient(
                    self.endpoint(registry),
                    self._credential,
                    audience=AUDIENCE,
                    per_call_policies=[KeptAccessTokens()],
                    **self._options,
                )
                self._clients[registry] = client
            return client


def _platform(os: object, architecture: object, variant: object = None) -> str | None:
    parts = [getattr(part, "value", part) for part in (os, architecture, variant)]
    if not parts[0] or not parts[1]:
        return None
    return "/".join(str(part) for part in parts if part)


def _index_platforms(manifest: object) -> tuple[str, ...]:
    """The platforms an index lists (``manifests[].platform``); none for an image."""
    entries = manifest.get("manifests") if isinstance(manifest, Mapping) else None
    if not isinstance(entries, list):
        return ()
    found = []
    for entry in entries:
        platform = entry.get("platform") if isinstance(entry, Mapping) else None
        if isinstance(platform, Mapping):
            text = _platform(platform.get("os"), platform.get("architecture"), platform.get("variant"))
            if text is not None:
                found.append(text)
    return tuple(found)


@contextmanager
def _translated_errors(registry: str) -> Iterator[None]:
    """azure-core errors as :class:`PlatformError` (a 404 passes through: no such image)."""
    from azure.containerregistry import DigestValidationError
    from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

    try:
        yield
    except ResourceNotFoundError:
        raise
    except HttpResponseError as exc:
        status = exc.status_code
        if status in (401, 403):
            message = f"registry {registry} refused the deployer's identity ({status}): {exc.message}"
            raise PlatformError(
                code=UNAUTHORIZED, message=message[:1000], status_code=status, retryable=False
            ) from exc
        retryable = status is None or status in (408, 429) or status >= 500
        message = f"registry {registry}: {exc.message}"[:1000]
        raise PlatformError(
            code=f"registry_http_{status}", message=message, status_code=status, retryable=retryable
        ) from exc
    except DigestValidationError as exc:
        message = f"registry {registry} sent a manifest that does not match its digest: {exc}"
        raise PlatformError(
            code="registry_digest_mismatch", message=message, status_code=None, retryable=False
        ) from exc
    except AzureError as exc:
        message = f"registry {registry} cannot be reached: {exc}"[:500]
        raise PlatformError(
            code="RegistryUnreachable", message=message, status_code=None, retryable=True
        ) from exc
