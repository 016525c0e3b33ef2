"""Refuse outbound targets on internal networks (SSRF defence for callback URLs).

A callback URL is checked twice: when a client submits it (:func:`check_callback_url`)
and again right before each webhook is sent (:func:`resolve_target`), whose answer
names the exact addresses to connect to. The sender connects to those addresses and
nothing else, so a DNS answer that changes between the check and the connection
(DNS rebinding) cannot steer a request to an internal address.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.errors import InvalidInput

# Networks ipaddress does not already flag as private/reserved but that still reach
# infrastructure: carrier-grade NAT, the cloud metadata endpoints, translation and
# relay ranges that embed other addresses, and ranges older CPythons misclassify.
_EXTRA_BLOCKED = [
    ipaddress.ip_network("100.64.0.0/10"),
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("192.0.0.0/24"),
    ipaddress.ip_network("192.88.99.0/24"),
    ipaddress.ip_network("fd00:ec2::/32"),
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("2001::/32"),
    ipaddress.ip_network("2001:20::/28"),
    ipaddress.ip_network("3fff::/20"),
    ipaddress.ip_network("5f00::/16"),
]


class UnsafeTarget(InvalidInput):
    code = "callback_url_not_allowed"
    title = "This callback URL is not allowed"


class UnresolvableTarget(UnsafeTarget):
    code = "callback_url_unresolvable"


@dataclass(frozen=True)
class Target:
    """A checked callback URL and the socket addresses it may be reached at (pinned)."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[tuple[int, tuple], ...]  # (address family, sockaddr)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def is_public_address(address: str) -> bool:
    """Tell whether ``address`` is a globally routable unicast address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            ip = mapped
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local:
        return False
    return not any(ip in net for net in _EXTRA_BLOCKED if net.version == ip.version)


def check_callback_url(url: str, *, allow_private: bool = False, resolve=socket.getaddrinfo) -> str:
    """Validate a webhook target and return it; raise :class:`UnsafeTarget` when refused.

    With ``allow_private`` (local testing only) the host is not resolved at submit time.
    """
    if allow_private:
        _parse(url)
        return url
    resolve_target(url, allow_private=False, resolve=resolve)
    return url


def resolve_target(url: str, *, allow_private: bool = False, resolve=socket.getaddrinfo) -> Target:
    """Resolve a callback URL and return the addresses to connect to, all of them checked.

    Every address the name resolves to must be public (one internal answer refuses
    the whole name). Raises :class:`UnsafeTarget` (``callback_url_not_allowed`` or
    ``callback_url_unresolvable``).
    """
    scheme, host, port, path = _parse(url)
    try:
        infos = resolve(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise UnresolvableTarget(f"the callback host {host!r} does not resolve") from None
    addresses = tuple(dict.fromkeys((info[0], info[4]) for info in infos
                                    if info[0] in (socket.AF_INET, socket.AF_INET6)))
    if not addresses:
        raise UnresolvableTarget(f"the callback host {host!r} does not resolve")
    if not allow_private and any(not is_public_address(sockaddr[0]) for _, sockaddr in addresses):
        raise UnsafeTarget(f"the callback host {host!r} resolves to a non-public address")
    return Target(scheme, host, port, path, addresses)


def _parse(url: str) -> tuple[str, str, int, str]:
    if not isinstance(url, str) or len(url) > 2048:
        raise UnsafeTarget("the callback URL is longer than 2048 characters")
    if any(ch in url for ch in "\r\n\t\x00 "):
        raise UnsafeTarget("the callback URL contains whitespace or control characters")
    if not url.isascii():
        # http.client sends ASCII only: hosts must be punycode and paths percent-encoded.
        raise UnsafeTarget("the callback URL must be ASCII (punycode host, percent-encoded path)")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        raise UnsafeTarget("the callback URL is malformed") from None
    if parts.scheme not in {"http", "https"}:
        raise UnsafeTarget("the callback URL must use http or https")
    if not hostname:
        raise UnsafeTarget("the callback URL has no host")
    if parts.username or parts.password or "@" in parts.netloc:
        raise UnsafeTarget("the callback URL must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeTarget("the callback URL has an invalid port") from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, hostname, port, path
