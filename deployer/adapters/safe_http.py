"""The webhook sender: resolve the host at send time, refuse internal addresses, connect to the
address that was checked (so DNS cannot change between the check and the connection), no
redirects, connect and read timeouts, and at most ``max_response_bytes`` of the answer read.

Built on ``http.client`` because it lets the socket be opened to a chosen address while TLS
still verifies the certificate for the URL's host name (SNI and hostname check). Log lines
name the URL's origin only: Slack and Teams URLs carry their secret in the path.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import time
from collections.abc import Mapping, Sequence

from deployer.domain.addresses import Resolver, Target, UrlRefused, resolve_checked, system_resolve
from deployer.domain.notifications import Attempt, parse_retry_after

log = logging.getLogger(__name__)


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to ``host`` made through one of the given, already checked addresses."""

    def __init__(
        self,
        target: Target,
        addresses: Sequence[str],
        *,
        connect_s: float,
        read_s: float,
        tls: ssl.SSLContext | None,
    ) -> None:
        super().__init__(target.host, target.port, timeout=connect_s)
        self._addresses = addresses
        self._connect_s, self._read_s, self._tls = connect_s, read_s, tls

    def connect(self) -> None:
        error: OSError = ConnectionError("no address")
        for address in self._addresses:
            try:
                sock = socket.create_connection((address, self.port), timeout=self._connect_s)
                break
            except OSError as exc:
                error = exc
        else:
            raise error
        if self._tls is not None:
            sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        sock.settimeout(self._read_s)
        self.sock = sock


class SafeHttpTransport:
    """:class:`deployer.ports.WebhookTransport` with the SSRF rules of ``deployer.domain.addresses``."""

    def __init__(
        self,
        *,
        allow_loopback: bool,
        resolver: Resolver = system_resolve,
        tls: ssl.SSLContext | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 15.0,
        max_response_bytes: int = 16_384,
    ) -> None:
        self._allow_loopback = allow_loopback
        self._resolver = resolver
        self._tls = tls or ssl.create_default_context()
        self._connect_s, self._read_s = connect_timeout_s, read_timeout_s
        self._max_bytes = max_response_bytes

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Attempt:
        """Send one POST; every failure is an :class:`Attempt`, never an exception."""
        try:
            target, addresses = resolve_checked(url, self._resolver, allow_loopback=self._allow_loopback)
        except UrlRefused as exc:  # the message names the origin and the rule, never the URL
            log.warning("webhook refused: %s", exc)
            return Attempt(error="address_refused")
        except OSError:
            return Attempt(error="dns_error")
        return self._send(target, addresses, body, headers)

    def _send(
        self, target: Target, addresses: Sequence[str], body: bytes, headers: Mapping[str, str]
    ) -> Attempt:
        tls = self._tls if target.scheme == "https" else None
        conn = _PinnedConnection(target, addresses, connect_s=self._connect_s, read_s=self._read_s, tls=tls)
        try:
            conn.request("POST", target.path, body=body, headers=dict(headers))
            response = conn.getresponse()
            response.read(self._max_bytes)  # drained up to the cap only; the rest is dropped with the socket
            retry_after = parse_retry_after(response.getheader("Retry-After"), now=time.time())
            return Attempt(status=response.status, retry_after_s=retry_after)
        except TimeoutError:
            return Attempt(error="timeout")
        except ssl.SSLError:
            return Attempt(error="tls_error")
        except (OSError, http.client.HTTPException) as exc:
            log.info("webhook to %s: %s", target.origin, type(exc).__name__)
            return Attempt(error="connection_error")
        finally:
            conn.close()
