"""Sign-in and wallet-session errors (codes in docs/ERRORS.md)."""

from __future__ import annotations

from shared.errors import Forbidden, InvalidInput, Unauthorized


class InvalidSiweMessage(InvalidInput):
    code = "invalid_siwe_message"
    title = "The sign-in message is not an EIP-4361 message"


class SiweWrongDomain(Unauthorized):
    code = "siwe_wrong_domain"
    title = "The sign-in message is for another site"


class SiweWrongChain(Unauthorized):
    code = "siwe_wrong_chain"
    title = "The sign-in message names another chain"


class SiweExpired(Unauthorized):
    code = "siwe_expired"
    title = "The sign-in message is expired or not valid yet"


class InvalidNonce(Unauthorized):
    code = "invalid_nonce"
    title = "The nonce is unknown, used, expired or of another wallet"


class InvalidSignature(Unauthorized):
    code = "invalid_signature"
    title = "The signature does not belong to the message's wallet"


class WalletTokenRequired(Unauthorized):
    code = "wallet_token_required"
    title = "Sign in with your wallet first"


class InvalidWalletToken(Unauthorized):
    code = "invalid_wallet_token"
    title = "The wallet session is unknown, expired or signed out"


class WalletNotOwner(Forbidden):
    code = "wallet_not_owner"
    title = "This belongs to another wallet"
