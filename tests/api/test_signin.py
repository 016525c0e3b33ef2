"""Sign-In with Ethereum: the nonce's message, login, the token and the cookie."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from shared.auth.siwe import parse_message
from shared.db import utcnow
from shared.payments.devchain import ACCOUNTS
from tests.support.wallets import bearer, sign, sign_in

(WALLET, KEY), (OTHER, OTHER_KEY) = ACCOUNTS[0], ACCOUNTS[1]


def _nonce(client, address=WALLET):
    return client.get(f"/api/auth/nonce/?address={address.lower()}").get_json()


def test_the_nonce_message_is_an_eip_4361_message_for_this_site_and_chain(client, settings):
    body = _nonce(client)
    message = parse_message(body["message"])
    assert message.address == WALLET == body["address"]
    assert message.domain == "127.0.0.1:" + str(settings.PORT) and message.uri == settings.PUBLIC_BASE_URL
    assert (message.chain_id, message.nonce, message.version) == (31337, body["nonce"], "1")
    assert message.expiration_time > utcnow() and parse_message(message.text()) == message


def test_a_signed_message_logs_in_and_the_token_and_cookie_name_the_wallet(client):
    body = _nonce(client)
    login = client.post("/api/auth/login/", json={"message": body["message"], "signature": sign(body["message"], KEY)})
    assert login.status_code == 200
    token = login.get_json()["token"]
    assert login.get_json()["address"] == WALLET
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/api/auth/me/", headers=bearer(token)).get_json() == {"address": WALLET}
    assert client.get("/api/auth/me/").get_json() == {"address": WALLET}  # the cookie
    assert client.post("/api/auth/logout/", headers=bearer(token)).status_code == 204
    assert client.get("/api/auth/me/", headers=bearer(token)).get_json()["code"] == "invalid_wallet_token"


def test_a_nonce_logs_in_once_even_when_two_logins_race(client, app):
    body = _nonce(client)
    payload = {"message": body["message"], "signature": sign(body["message"], KEY)}

    def login(_):
        return app.test_client().post("/api/auth/login/", json=payload)

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(response.status_code for response in pool.map(login, range(4)))
    assert statuses == [200, 401, 401, 401]
    again = client.post("/api/auth/login/", json=payload)
    assert (again.status_code, again.get_json()["code"]) == (401, "invalid_nonce")


def test_logins_are_refused_with_the_reason(client):
    body = _nonce(client)
    message = body["message"]
    cases = {
        "invalid_signature": (message, sign(message, OTHER_KEY)),
        "siwe_wrong_domain": (message.replace("127.0.0.1:", "evil.example:", 1), None),
        "siwe_wrong_chain": (message.replace("Chain ID: 31337", "Chain ID: 1"), None),
        "invalid_siwe_message": ("hello", "0x" + "00" * 65),
    }
    for code, (text, signature) in cases.items():
        response = client.post("/api/auth/login/", json={"message": text, "signature": signature or sign(text, KEY)})
        assert response.get_json()["code"] == code, (code, response.get_json())
        assert response.status_code == (400 if code == "invalid_siwe_message" else 401)
    # The wrong signature did not burn the owner's nonce.
    assert client.post("/api/auth/login/", json={"message": message, "signature": sign(message, KEY)}).status_code == 200


def test_an_expired_message_and_another_wallets_nonce_are_refused(client, db):
    from shared.auth.models import SiweNonce

    body = _nonce(client)
    with db.session() as session:
        session.get(SiweNonce, body["nonce"]).expires_at = utcnow() - timedelta(seconds=1)
    response = client.post("/api/auth/login/", json={"message": body["message"],
                                                     "signature": sign(body["message"], KEY)})
    assert response.get_json()["code"] in ("siwe_expired", "invalid_nonce")
    # OTHER signs a message carrying the nonce issued for WALLET.
    mine = _nonce(client)["message"]
    forged = mine.replace(WALLET, OTHER)
    response = client.post("/api/auth/login/", json={"message": forged, "signature": sign(forged, OTHER_KEY)})
    assert (response.status_code, response.get_json()["code"]) == (401, "invalid_nonce")


def test_a_missing_or_unknown_token_is_401(client):
    assert client.get("/api/auth/me/").get_json()["code"] == "wallet_token_required"
    assert client.get("/api/auth/me/", headers=bearer("wlt_nope")).get_json()["code"] == "invalid_wallet_token"
    assert client.get("/api/auth/nonce/?address=0x123").get_json()["code"] == "invalid_wallet"
    sign_in(client, WALLET, KEY)
