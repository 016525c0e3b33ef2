"""Sign-In with Ethereum and wallet sessions.

A nonce is handed out for one wallet and stored; login checks the message's
domain, URI, chain, times and signature, then consumes the nonce with one
conditional UPDATE (two logins with the same nonce: one wins). A session is a
random bearer token of which only the SHA-256 is stored.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, select, update

from shared.auth import errors
from shared.auth.models import SiweNonce, WalletSession
from shared.auth.siwe import SiweMessage, parse_message, recover_signer
from shared.db import Database, utcnow
from shared.payments.wallet import to_checksum_address
from shared.security import hash_token
from shared.settings import Settings

TOKEN_PREFIX = "wlt_"
COOKIE_NAME = "showreel_wallet"
STATEMENT = "Sign in to Showreel to publish and edit your video profile."
# Clocks of wallets and servers differ a little.
CLOCK_SKEW = timedelta(minutes=2)


@dataclass(frozen=True)
class LoginResult:
    token: str
    address: str
    expires_at: datetime


def site(settings: Settings) -> tuple[str, str, str]:
    """(scheme, domain, base URI) that messages must name: those of PUBLIC_BASE_URL."""
    parts = urlsplit(settings.PUBLIC_BASE_URL)
    return parts.scheme, parts.netloc, f"{parts.scheme}://{parts.netloc}"


def issue_nonce(db: Database, settings: Settings, address: str, *, now: datetime | None = None) -> dict[str, str]:
    """A fresh nonce for ``address`` and the EIP-4361 message to sign with it."""
    address = to_checksum_address(address)
    now = now or utcnow()
    nonce = secrets.token_hex(16)
    expires_at = now + timedelta(seconds=settings.SIWE_NONCE_TTL)
    _, domain, uri = site(settings)
    message = SiweMessage(domain=domain, address=address, statement=STATEMENT, uri=uri,
                          chain_id=settings.PAYMENT_CHAIN_ID, nonce=nonce, issued_at=now.replace(microsecond=0),
                          expiration_time=expires_at.replace(microsecond=0))
    with db.session() as session:
        session.add(SiweNonce(nonce=nonce, address=address, issued_at=now, expires_at=expires_at))
    return {"nonce": nonce, "message": message.text(), "address": address, "expires_at": expires_at.isoformat()}


def login(db: Database, settings: Settings, text: str, signature: str, *,
          now: datetime | None = None) -> LoginResult:
    """Verify a signed message and open a session; raises the errors of :mod:`shared.auth.errors`."""
    now = now or utcnow()
    message = parse_message(text)
    address = to_checksum_address(message.address)
    scheme, domain, uri = site(settings)
    if message.domain != domain or (message.scheme and message.scheme != scheme):
        raise errors.SiweWrongDomain(f"the message is for {message.domain}, this site is {domain}")
    target = urlsplit(message.uri)
    if f"{target.scheme}://{target.netloc}" != uri:
        raise errors.SiweWrongDomain(f"the message's URI must be on {uri}")
    if message.chain_id != settings.PAYMENT_CHAIN_ID:
        raise errors.SiweWrongChain(f"sign in on chain {settings.PAYMENT_CHAIN_ID}, not {message.chain_id}")
    if message.issued_at > now + CLOCK_SKEW:
        raise errors.SiweExpired("the message was issued in the future")
    if message.expiration_time is not None and message.expiration_time <= now:
        raise errors.SiweExpired("the message has expired; ask for a new nonce")
    if message.not_before is not None and message.not_before > now + CLOCK_SKEW:
        raise errors.SiweExpired("the message is not valid yet")
    # The signature first: a wrong one must not burn the owner's nonce.
    if recover_signer(text, signature) != address:
        raise errors.InvalidSignature("the message was not signed by its wallet")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=settings.WALLET_SESSION_TTL)
    with db.session() as session:
        consumed = session.execute(
            update(SiweNonce).where(SiweNonce.nonce == message.nonce, SiweNonce.address == address,
                                    SiweNonce.used_at.is_(None), SiweNonce.expires_at > now)
            .values(used_at=now)).rowcount
        if consumed != 1:
            raise errors.InvalidNonce("ask GET /api/auth/nonce/ for a new nonce")
        session.add(WalletSession(token_hash=hash_token(token), wallet=address, created_at=now,
                                  expires_at=expires_at))
    return LoginResult(token=token, address=address, expires_at=expires_at)




def authenticate(db: Database, token: str | None, *, now: datetime | None = None) -> str:
    """The wallet of a session token; raises WalletTokenRequired / InvalidWalletToken."""
    if not token:
        raise errors.WalletTokenRequired("send Authorization: Bearer <token from POST /api/auth/login/>")
    if not token.startswith(TOKEN_PREFIX):
        raise errors.InvalidWalletToken("not a wallet session token")
    now = now or utcnow()
    with db.session() as session:
        row = session.scalars(select(WalletSession).where(WalletSession.token_hash == hash_token(token))).one_or_none()
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise errors.InvalidWalletToken("sign in again")
        return row.wallet


def logout(db: Database, token: str | None) -> bool:
    """Revoke a session token; True when there was one to revoke."""
    if not token:
        return False
    with db.session() as session:
        return session.execute(update(WalletSession).where(WalletSession.token_hash == hash_token(token),
                                                           WalletSession.revoked_at.is_(None))
                               .values(revoked_at=utcnow())).rowcount == 1


def purge_expired(db: Database, *, now: datetime | None = None, dry_run: bool = False) -> dict[str, int]:
    """Delete nonces and sessions past their expiry (an ops expirer)."""
    now = now or utcnow()
    with db.session() as session:
        if dry_run:
            nonces = len(session.scalars(select(SiweNonce.nonce).where(SiweNonce.expires_at <= now)).all())
            sessions = len(session.scalars(select(WalletSession.id).where(WalletSession.expires_at <= now)).all())
        else:
            nonces = session.execute(delete(SiweNonce).where(SiweNonce.expires_at <= now)).rowcount
            sessions = session.execute(delete(WalletSession).where(WalletSession.expires_at <= now)).rowcount
    return {"nonces": nonces, "sessions": sessions}
