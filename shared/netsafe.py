"""Refuse outbound targets on internal networks (SSRF defence for callback URLs)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from shared.errors import InvalidInput

# Networks ipaddress does not already flag as private/reserved but that still reach
# infrastructure: carrier-grade NAT and the cloud metadata endpoints.
_EXTRA_BLOCKED = [
    ipaddress.ip_network("100.64.0.0/10"),
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fd00:ec2::/32"),
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
]


class UnsafeTarget(InvalidInput):
    code = "callback_url_not_allowed"
    title = "This callback URL is not allowed"


def is_public_address(address: str) -> bool:
    """Tell whether ``address`` is a globally routable unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            ip = mapped
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local:
        return False
    return not any(ip in net for net in _EXTRA_BLOCKED if net.version == ip.version)


def check_callback_url(url: str, *, allow_private: bool = False, resolve=socket.getaddrinfo) -> str:
    """Validate a webhook target and return it; raise :class:`UnsafeTarget` when refused."""
    if len(url) > 2048:
        raise UnsafeTarget("the callback URL is longer than 2048 characters")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise UnsafeTarget("the callback URL must use http or https")
    if not parts.hostname:
        raise UnsafeTarget("the callback URL has no host")
    if parts.username or parts.password:
        raise UnsafeTarget("the callback URL must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeTarget("the callback URL has an invalid port") from None
    if allow_private:
        return url
    try:
        infos = resolve(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise UnsafeTarget(f"the callback host {parts.hostname!r} does not resolve",
                           code="callback_url_unresolvable") from None
    addresses = {info[4][0] for info in infos}
    blocked = sorted(a for a in addresses if not is_public_address(a))
    if not addresses or blocked:
        raise UnsafeTarget(f"the callback host {parts.hostname!r} resolves to a non-public address")
    return url
