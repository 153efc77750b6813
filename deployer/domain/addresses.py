"""Where notifications may be sent: URL and address rules against SSRF. Resolution is done by the
caller (at config check and again at send time) and handed in: :func:`system_resolve` is DNS.

Rules (OWASP SSRF cheat sheet): ``https`` only; plain ``http`` only to loopback and only with the
loopback exception (``WEBHOOKS_ALLOW_LOOPBACK=true``, local development and tests); every address
a name resolves to must be global unicast: no private, shared, loopback (unless excepted),
link-local, multicast, reserved or unspecified address, and not the cloud metadata and platform
endpoints. IPv4 addresses embedded in IPv6 (mapped, 6to4, Teredo) are judged as IPv4.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Resolves a host name to its addresses (A and AAAA); raises ``OSError`` when it cannot.
Resolver = Callable[[str], Sequence[str]]

#: Cloud instance metadata and platform endpoints, global addresses that are never a receiver.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # IMDS (Azure, AWS, GCP)
        ipaddress.ip_address("168.63.129.16"),  # Azure platform (WireServer, DNS, health probes)
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
    }
)
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


class UrlRefused(ValueError):
    """The URL or the address it leads to is not allowed; the message names the rule, never the
    URL itself (webhook URLs of Slack and Teams carry their secret in the path)."""


@dataclass(frozen=True, kw_only=True)
class Target:
    """A URL split into what the sender needs: it connects to a checked address of ``host``."""

    scheme: str
    host: str
    port: int
    path: str

    @property
    def origin(self) -> str:
        """``https://host`` (with a non-default port): safe to show, unlike the whole URL."""
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")


def parse_target(url: str, *, allow_loopback: bool) -> Target:
    """Split ``url`` and apply the scheme rules; raise :class:`UrlRefused`."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("not a valid URL") from None
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise UrlRefused("must be an https:// URL")
    if parts.username or parts.password:
        raise UrlRefused("must not carry credentials (user:password@); use secret")
    if parts.scheme == "http" and not (allow_loopback and _is_loopback_host(host)):
        raise UrlRefused(
            "must be https:// (plain http is allowed only to loopback with WEBHOOKS_ALLOW_LOOPBACK=true)"
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(
        scheme=parts.scheme, host=host, port=port or (443 if parts.scheme == "https" else 80), path=path
    )


def refusal(address: str, *, allow_loopback: bool) -> str | None:
    """Why ``address`` may not receive notifications, or None if it may."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    ip = _embedded_ipv4(ip) or ip
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    rules = (
        (ip in METADATA_ADDRESSES, "a cloud metadata or platform address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_unspecified or ip.is_reserved, "a reserved address"),
        (ip.is_private or not ip.is_global, "a private address"),
    )
    return next((reason for broken, reason in rules if broken), None)


def checked_addresses(target: Target, addresses: Sequence[str], *, allow_loopback: bool) -> list[str]:
    """The addresses ``target.host`` resolved to, if every one is allowed; raise :class:`UrlRefused`
    if any is not (a name that also resolves to an internal address is not trusted at all).
    Plain http must resolve to loopback only."""
    if not addresses:
        raise UrlRefused("the host does not resolve")
    for address in addresses:
        reason = refusal(address, allow_loopback=allow_loopback)
        if reason:
            raise UrlRefused(f"the host resolves to {reason}")
        if target.scheme == "http" and not ipaddress.ip_address(address.split("%", 1)[0]).is_loopback:
            raise UrlRefused("plain http is allowed only to loopback addresses")
    return list(dict.fromkeys(addresses))


def resolve_checked(url: str, resolver: Resolver, *, allow_loopback: bool) -> tuple[Target, list[str]]:
    """``url`` split and the allowed addresses it leads to now (an IP literal needs no resolver);
    :class:`UrlRefused` by the rules above, ``OSError`` when the name cannot be resolved."""
    target = parse_target(url, allow_loopback=allow_loopback)
    literal = literal_address(target.host)
    resolved = [literal] if literal else resolver(target.host)
    try:
        return target, checked_addresses(target, resolved, allow_loopback=allow_loopback)
    except UrlRefused as exc:
        raise UrlRefused(f"{target.origin}: {exc}") from None


def literal_address(host: str) -> str | None:
    """``host`` itself if it is an IP literal, so no resolver is needed."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def _is_loopback_host(host: str) -> bool:
    literal = literal_address(host)
    return ipaddress.ip_address(literal).is_loopback if literal else host in _LOOPBACK_NAMES


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in ipaddress.ip_network("64:ff9b::/96"):  # NAT64: reaches the embedded IPv4 address
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def system_resolve(host: str) -> list[str]:
    """The A and AAAA addresses of ``host`` (``OSError`` if it does not resolve): the resolver
    callers hand in, as :class:`~deployer.domain.clock.SystemClock` is the clock."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
