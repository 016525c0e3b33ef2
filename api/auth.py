"""Who is calling: the tenant behind the bearer API key."""

from __future__ import annotations

import uuid

from flask import current_app, g, request

from shared.auth.errors import WalletTokenRequired
from shared.auth.service import COOKIE_NAME, TOKEN_PREFIX, authenticate
from shared.ops.tokens import authenticate as authenticate_ops
from shared.tenants.service import resolve_tenant


def current_tenant_id() -> uuid.UUID:
    if "tenant_id" not in g:
        g.tenant_id = resolve_tenant(current_app.extensions["showreel.db"], current_app.config["SETTINGS"],
                                     bearer_token())
    return g.tenant_id


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if any."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def require_ops_token() -> None:
    """Let the request through only with ``Authorization: Bearer <OPS_TOKEN>``.

    Use as a blueprint's ``before_request``. Raises 401 ``ops_token_required`` without
    a token, 403 ``invalid_ops_token`` for a wrong one, and 403
    ``ops_token_not_configured`` when ``OPS_TOKEN`` is empty (the ops API is off).
    Tokens issued with ``flask ops tokens create`` are accepted too (shared/ops/tokens.py).
    """
    ops_caller()


def ops_caller() -> str:
    """Who holds the request's ops token (``"OPS_TOKEN"`` or ``"token:<name>"``); raises like above."""
    if "ops_caller" not in g:
        g.ops_caller = authenticate_ops(current_app.extensions["showreel.db"], current_app.config["SETTINGS"],
                                        bearer_token())
    return g.ops_caller


def wallet_token() -> str | None:
    """The wallet session token: ``Authorization: Bearer wlt_...``, else the browser's HttpOnly cookie."""
    token = bearer_token()
    if token and token.startswith(TOKEN_PREFIX):
        return token
    return request.cookies.get(COOKIE_NAME) or None


def current_wallet_or_none() -> str | None:
    """The EIP-55 wallet the request is signed in with (Sign-In with Ethereum), or None.

    Uploads use it to pick their owner and quota. The session comes from the request's
    bearer wallet token or its HttpOnly cookie; a bad or expired one raises 401
    ``invalid_wallet_token``.
    """
    if "wallet" not in g:
        token = wallet_token()
        g.wallet = authenticate(current_app.extensions["showreel.db"], token) if token else None
    return g.wallet


def current_wallet() -> str:
    """The signed-in wallet; raises 401 ``wallet_token_required`` / ``invalid_wallet_token``."""
    wallet = current_wallet_or_none()
    if wallet is None:
        raise WalletTokenRequired("sign in with your wallet: GET /api/auth/nonce/, then POST /api/auth/login/")
    return wallet
