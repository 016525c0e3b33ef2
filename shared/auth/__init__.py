"""Wallet sign-in: Sign-In with Ethereum (EIP-4361) messages, nonces and wallet sessions."""
