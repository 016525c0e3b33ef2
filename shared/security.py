"""Small helpers for secrets the platform issues (API keys, role and session tokens)."""

from __future__ import annotations

import hashlib


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored instead of a token: tokens are random, so no salt is needed."""
    return hashlib.sha256(token.encode()).hexdigest()
