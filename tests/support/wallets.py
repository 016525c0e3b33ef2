"""Sign in as a dev-chain wallet the way a browser wallet does (personal_sign of the EIP-4361 message)."""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import encode_defunct


def sign(text: str, key: str) -> str:
    return Account.sign_message(encode_defunct(text=text), private_key=key).signature.to_0x_hex()


def sign_in(client, address: str, key: str) -> str:
    """Nonce, sign, login; return the bearer token."""
    nonce = client.get(f"/api/auth/nonce/?address={address}")
    assert nonce.status_code == 200, nonce.get_data(as_text=True)
    message = nonce.get_json()["message"]
    login = client.post("/api/auth/login/", json={"message": message, "signature": sign(message, key)})
    assert login.status_code == 200, login.get_data(as_text=True)
    return login.get_json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
