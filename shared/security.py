"""Small helpers for secrets the platform issues (API keys, role and session tokens) and what clients may see."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import re
import secrets
from dataclasses import dataclass

from shared.settings import Settings

log = logging.getLogger(__name__)

# Shortest staff token (OPS_TOKEN, MODERATOR_TOKEN, issued ones) worth accepting: a shorter one can
# be guessed from the outside. The production start-up check imports it from here.
STAFF_TOKEN_MIN_LENGTH = 32

# "2001:0db8:0000:0001" of an IPv6 address written out in full: its /64.
IPV6_GROUP_PREFIX_CHARS = 19

_warned: set[str] = set()


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored instead of a token: tokens are random, so no salt is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_staff_token(prefix: str) -> str:
    """A random staff token: ``prefix`` and 43 URL-safe characters (256 bits), never under the minimum."""
    token = prefix + secrets.token_urlsafe(32)
    assert len(token) >= STAFF_TOKEN_MIN_LENGTH
    return token


def bootstrap_token(settings: Settings, name: str) -> str:
    """The bootstrap token setting ``name``; empty (as if unset) when shorter than STAFF_TOKEN_MIN_LENGTH.

    Production refuses to start with such a token; elsewhere it is ignored with a warning,
    so a guessable token never opens a staff API.
    """
    value = getattr(settings, name)
    if not value or len(value) >= STAFF_TOKEN_MIN_LENGTH:
        return value
    if name not in _warned:
        _warned.add(name)
        log.warning("%s is shorter than %d characters and is ignored: the role it bootstraps is off",
                    name, STAFF_TOKEN_MIN_LENGTH)
    return ""


def same_token(given: str, expected: str) -> bool:
    """Whether ``given`` is ``expected``, compared in constant time; an empty ``expected`` matches nothing."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class IssuedToken:
    token: str   # shown once, never stored
    digest: str  # what is stored (hash_token)
    head: str    # the first characters, stored to tell issued tokens apart in lists


@dataclass(frozen=True)
class StaffTokens:
    """One kind of staff bearer token (moderator, ops): one bootstrapped by a setting, more issued, stored hashed."""

    prefix: str   # what an issued token starts with
    setting: str  # the setting that bootstraps one (MODERATOR_TOKEN, OPS_TOKEN)
    shown: int    # how many leading characters of an issued token are kept

    def issue(self) -> IssuedToken:
        """A new random token with its digest and head."""
        token = new_staff_token(self.prefix)
        return IssuedToken(token=token, digest=hash_token(token), head=token[:self.shown])

    def bootstrap(self, settings: Settings) -> str:
        """The bootstrap token; empty when unset or too short (see :func:`bootstrap_token`)."""
        return bootstrap_token(settings, self.setting)

    def is_bootstrap(self, settings: Settings, token: str) -> bool:
        """Whether ``token`` is the bootstrap token as the setting says now."""
        return same_token(token, self.bootstrap(settings))


def canonical_address(ip: str) -> str:
    """``ip`` in one spelling: IPv6 written out in full (IPv4-mapped ones as IPv4), anything else as given."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        return str(address.ipv4_mapped) if address.ipv4_mapped else address.exploded
    return str(address)


def address_group(ip: str) -> str:
    """Who counts as one client for limits and quotas: an IPv4 address, or the /64 of an IPv6 one.

    One IPv6 subscriber gets a whole /64 (2^64 addresses): per-address counts would not hold.
    """
    canonical = canonical_address(ip)
    if ":" not in canonical:
        return canonical
    return canonical[:IPV6_GROUP_PREFIX_CHARS] + "::/64"


def redact_server_paths(text: str, settings: Settings) -> str:
    """``text`` with every path under the server's own folders replaced, for what clients are shown."""
    for root in _server_roots(settings):
        text = re.sub(re.escape(root) + r"[^\s'\"]*", "<server path>", text)
    return text


def _server_roots(settings: Settings) -> list[str]:
    roots = set()
    for folder in (settings.TEMP_DIR, settings.DATA_DIR, settings.LOCAL_STORAGE_DIR):
        if folder:
            # As configured (may be relative, as in the embedded default), absolute and resolved.
            roots.update({folder.rstrip("/"), os.path.abspath(folder), os.path.realpath(folder)})
    # Longest first: a folder inside another is replaced whole.
    return sorted((root for root in roots if len(root) > 2), key=len, reverse=True)
