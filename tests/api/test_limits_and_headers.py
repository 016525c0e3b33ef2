"""Issue 11, items 13 and 14: limits on every door, security headers everywhere, nothing leaked."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import uuid
from datetime import timedelta

import pytest

from shared.db import utcnow
from shared.payments.devchain import ACCOUNTS
from shared.security import STAFF_TOKEN_MIN_LENGTH
from shared.settings import Settings, SettingsError
from tests.support.media import png_bytes
from tests.support.wallets import bearer, sign_in

OPS_TOKEN = "ops-limits-test-token-0123456789abcdef"
MOD_TOKEN = "moderator-limits-test-token-0123456789"
(WALLET, KEY), (OTHER, OTHER_KEY) = ACCOUNTS[0], ACCOUNTS[1]


def _from(ip: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": ip}}


# -- 14: headers and leaks ------------------------------------------------------------------


def test_path_leak_a_playlist_disguised_as_mp4_gets_a_problem_without_the_server_path(client, settings):
    playlist = (b"\x00\x00\x00\x18ftypmp42" + b"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\n"
                b"file:///etc/passwd\n#EXT-X-ENDLIST\n")

    response = client.post("/api/uploads/", data={"file": (io.BytesIO(playlist), "clip.mp4")})

    problem = response.get_json()
    assert 400 <= response.status_code < 500 and problem["code"] == "corrupt_media", problem
    assert ".part" not in problem["detail"] and "/incoming" not in problem["detail"]
    assert settings.TEMP_DIR not in response.get_data(as_text=True)


def test_security_headers_are_on_json_answers_and_problem_errors(client):
    for response in (client.get("/api/presets/"), client.get("/api/no-such-thing/"), client.get("/openapi.json")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    # The pages keep their own policy.
    page = client.get("/")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_security_headers_on_docs_allow_only_its_own_inline_script_by_hash(client):
    docs = client.get("/docs")

    policy = docs.headers["Content-Security-Policy"]
    assert docs.status_code == 200 and docs.headers["X-Content-Type-Options"] == "nosniff"
    inline = re.findall(rb"<script>(.*?)</script>", docs.get_data(), re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0]).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}'" in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy


def test_metrics_requires_the_ops_token_by_default_in_production(make_client):
    production = make_client(APP_ENV="production", OPS_TOKEN=OPS_TOKEN)
    assert production.get("/metrics").status_code == 401
    assert production.get("/metrics", headers=bearer(OPS_TOKEN)).status_code == 200
    # Embedded: open as before; and production may still switch it off explicitly.
    assert make_client().get("/metrics").status_code == 200
    assert make_client(APP_ENV="production", METRICS_REQUIRE_TOKEN=False).get("/metrics").status_code == 200
    assert Settings.from_env({"APP_ENV": "production"}).METRICS_REQUIRE_TOKEN is True
    assert Settings.from_env({}).METRICS_REQUIRE_TOKEN is False


# -- 13: staff tokens -----------------------------------------------------------------------


def test_staff_tokens_shorter_than_32_characters_are_ignored_in_embedded_mode(make_client):
    short_ops, short_mod = "ops-token-of-20-char", "moderator-token-25-chars!"
    client = make_client(OPS_TOKEN=short_ops, MODERATOR_TOKEN=short_mod)

    ops = client.get("/api/ops/schedules/", headers=bearer(short_ops))
    moderation = client.get("/api/moderation/queue/", headers=bearer(short_mod))

    assert (ops.status_code, ops.get_json()["code"]) == (403, "ops_token_not_configured")
    assert str(STAFF_TOKEN_MIN_LENGTH) in ops.get_json()["detail"]
    assert (moderation.status_code, moderation.get_json()["code"]) == (401, "invalid_moderator_token")
    at_length = make_client(OPS_TOKEN="o" * STAFF_TOKEN_MIN_LENGTH)
    assert at_length.get("/api/ops/schedules/", headers=bearer("o" * STAFF_TOKEN_MIN_LENGTH)).status_code == 200


def test_staff_tokens_issued_are_at_least_32_characters(db):
    from shared.moderation.moderators import issue_moderator
    from shared.ops.tokens import issue

    _, ops_token = issue(db, "ci")
    _, mod_token = issue_moderator(db, "ann", None)
    assert len(ops_token) >= STAFF_TOKEN_MIN_LENGTH and len(mod_token) >= STAFF_TOKEN_MIN_LENGTH


def test_staff_token_guessing_gets_429_past_the_limit(make_client):
    client = make_client(OPS_TOKEN=OPS_TOKEN, MODERATOR_TOKEN=MOD_TOKEN, RATE_LIMIT_STAFF_AUTH_FAILURES=3)
    guesses = [client.get("/api/ops/schedules/", headers=bearer(f"guess-{i}")) for i in range(2)]
    guesses.append(client.get("/api/moderation/queue/", headers=bearer("guess-2")))  # one count for all staff APIs

    refused = client.get("/api/ops/schedules/", headers=bearer("guess-3"))

    assert [g.status_code for g in guesses] == [403, 403, 401]
    assert (refused.status_code, refused.get_json()["code"]) == (429, "too_many_staff_token_failures")
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert client.get("/api/tenants/", headers=bearer("guess-4")).status_code == 429
    assert client.get("/api/moderation/queue/").status_code == 429  # no token at all is no way past either
    # Another address is not affected; a missing token is not a guess.
    assert client.get("/api/ops/schedules/", headers=bearer(OPS_TOKEN), **_from("192.0.2.50")).status_code == 200
    for _ in range(4):
        assert client.get("/api/ops/schedules/", **_from("192.0.2.51")).status_code == 401
    assert client.get("/api/ops/schedules/", headers=bearer(OPS_TOKEN), **_from("192.0.2.51")).status_code == 200


def test_review_staff_token_lockout_refuses_guesses_but_not_the_right_tokens(make_client, caplog):
    """A guesser sharing the staff's address (NAT, VPN) cannot lock ops or moderators out."""
    client = make_client(OPS_TOKEN=OPS_TOKEN, MODERATOR_TOKEN=MOD_TOKEN, RATE_LIMIT_STAFF_AUTH_FAILURES=3)
    with caplog.at_level("WARNING", logger="api.ratelimit"):
        for i in range(3):
            client.get("/api/ops/schedules/", headers=bearer(f"guess-{i}"))

    assert client.get("/api/ops/schedules/", headers=bearer("guess-3")).status_code == 429
    assert client.get("/api/ops/schedules/", headers=bearer(OPS_TOKEN)).status_code == 200
    assert client.get("/api/tenants/", headers=bearer(OPS_TOKEN)).status_code == 200
    assert client.get("/api/moderation/queue/", headers=bearer(MOD_TOKEN)).status_code == 200
    assert client.get("/api/moderation/queue/", headers=bearer("guess-4")).status_code == 429
    assert "locked out" in caplog.text


# -- 13: per-IP limits on every blueprint ---------------------------------------------------


def test_per_ip_limits_on_every_blueprint(make_client):
    client = make_client(RATE_LIMIT_PER_IP=2)
    for path in ("/api/profiles/", "/api/hashtags/travel/", "/api/uploads/00000000-0000-4000-8000-000000000001/"):
        answers = [client.get(path, **_from(f"192.0.2.{len(path)}")).status_code for _ in range(3)]
        assert answers[-1] == 429 and 429 not in answers[:2], (path, answers)
    assert client.get("/healthz").status_code == 200  # load balancers poll it


def test_per_ip_limits_on_sign_in_nonces(make_client):
    client = make_client(RATE_LIMIT_SIGNIN_PER_IP=2)
    nonce = f"/api/auth/nonce/?address={WALLET}"

    answers = [client.get(nonce).status_code for _ in range(2)]
    login = client.post("/api/auth/login/", json={"message": "x", "signature": "0x00"})

    assert answers == [200, 200]
    assert (login.status_code, login.get_json()["code"]) == (429, "rate_limited")
    assert client.get(nonce, **_from("192.0.2.60")).status_code == 200


def test_per_ip_limits_on_hashtag_checks_and_appeals(make_client):
    client = make_client(RATE_LIMIT_HASHTAG_CHECKS_PER_IP=2, RATE_LIMIT_APPEALS_PER_IP=1)
    checks = [client.post("/api/hashtags/check/", json={"hashtags": "#travel"}).status_code for _ in range(2)]
    validation = client.post("/api/forms/validate/", json={"name": "Ann", "hashtags": "#travel"})
    assert checks == [200, 200] and validation.status_code == 429  # one count for the matcher's users

    first = client.post("/api/hashtags/appeals/", json={"tag": "travel", "message": "why?"})
    second = client.post("/api/hashtags/appeals/", json={"tag": "travel", "message": "why?"})
    assert first.status_code != 429 and second.status_code == 429


def test_per_ip_limits_group_ipv6_clients_by_64(make_client):
    client = make_client(RATE_LIMIT_PER_IP=2)
    answers = [client.get("/api/profiles/", **_from(f"2001:db8:1:2::{i}")).status_code for i in range(3)]
    assert answers == [200, 200, 429]
    assert client.get("/api/profiles/", **_from("2001:db8:1:3::1")).status_code == 200


def test_trusted_proxy_hops_x_forwarded_for_is_ignored_unless_set(make_client):
    direct = make_client(RATE_LIMIT_PER_IP=2)
    spoofed = [direct.get("/api/profiles/", headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
               for i in range(3)]
    assert spoofed == [200, 200, 429]  # one client, whatever it claims

    behind_proxy = make_client(RATE_LIMIT_PER_IP=2, TRUSTED_PROXY_HOPS=1)
    clients = [behind_proxy.get("/api/profiles/", headers={"X-Forwarded-For": f"198.51.100.{i}"},
                                **_from("10.0.0.5")).status_code for i in range(3)]
    assert clients == [200, 200, 200]  # three clients behind one load balancer
    same = [behind_proxy.get("/api/profiles/", headers={"X-Forwarded-For": "1.2.3.4, 198.51.100.9"},
                             **_from("10.0.0.5")).status_code for _ in range(3)]
    assert same == [200, 200, 429]  # only the hop the proxy added counts


# -- 13: live-status streams per wallet -----------------------------------------------------


def _submission(db, wallet: str) -> uuid.UUID:
    from shared.submissions.models import Submission

    with db.session() as session:
        row = Submission(wallet=wallet, image_upload_id=uuid.uuid4(), video_upload_id=uuid.uuid4(),
                         quote_to=OTHER, quote_amount_wei="1", quote_chain_id=31337,
                         quote_expires_at=utcnow() + timedelta(hours=1))
        session.add(row)
        session.flush()
        return row.id


def test_live_status_streams_are_capped_per_wallet(make_client, db):
    client = make_client(SSE_MAX_STREAMS=5, SSE_MAX_STREAMS_PER_WALLET=1, SSE_MAX_SECONDS=30)
    token, other_token = sign_in(client, WALLET, KEY), sign_in(client, OTHER, OTHER_KEY)
    mine, theirs = _submission(db, WALLET), _submission(db, OTHER)

    first = client.get(f"/api/submissions/{mine}/events/", headers=bearer(token), buffered=False)
    second = client.get(f"/api/submissions/{mine}/events/", headers=bearer(token))
    other = client.get(f"/api/submissions/{theirs}/events/", headers=bearer(other_token), buffered=False)

    assert first.status_code == 200 and other.status_code == 200
    assert (second.status_code, second.get_json()["code"]) == (503, "too_many_streams")
    first.close()  # the wallet's stream ends: it may open another
    again = client.get(f"/api/submissions/{mine}/events/", headers=bearer(token), buffered=False)
    assert again.status_code == 200
    again.close()
    other.close()


def test_review_per_wallet_stream_count_frees_a_dead_processs_slot_while_the_browser_reconnects(
        redis_client, settings, monkeypatch):
    import time

    from api.submissions import routes
    from api.submissions.routes import TooManyStreams

    monkeypatch.setattr(routes, "_STREAM_GRACE_SECONDS", 0, raising=False)
    limited = settings.replace(SSE_MAX_SECONDS=1, SSE_MAX_STREAMS_PER_WALLET=1)
    routes._take_wallet_stream(redis_client, WALLET, limited)  # its process dies: never given back
    deadline, refused = time.monotonic() + 4, 0
    while True:  # the browser reconnects every 0.2 s, refused until the dead stream's time is up
        try:
            routes._take_wallet_stream(redis_client, WALLET, limited)
            break
        except TooManyStreams:
            refused += 1
            assert time.monotonic() < deadline, f"still refused after {refused} reconnects"
            time.sleep(0.2)
    assert refused >= 1


def test_review_per_wallet_stream_refusal_survives_redis_failing_to_give_the_slot_back(
        redis_client, settings, monkeypatch):
    import redis

    from api.submissions import routes
    from api.submissions.routes import TooManyStreams

    limited = settings.replace(SSE_MAX_STREAMS_PER_WALLET=1)
    routes._take_wallet_stream(redis_client, WALLET, limited)

    def broken(*args, **kwargs):
        raise redis.ConnectionError("Redis went away")

    for name in ("decr", "zrem"):
        monkeypatch.setattr(redis_client, name, broken)
    with pytest.raises(TooManyStreams):  # a refusal (429-like problem), never a RedisError (500)
        routes._take_wallet_stream(redis_client, WALLET, limited)


# -- 13: upload quotas ----------------------------------------------------------------------


def test_upload_ip_daily_bytes_is_at_most_a_quarter_of_the_temp_high_water_mark():
    assert Settings.from_env({}).UPLOAD_IP_DAILY_BYTES == 20 * 1024**3 // 4
    assert Settings.from_env({"UPLOAD_TEMP_HIGH_WATER_BYTES": "4000"}).UPLOAD_IP_DAILY_BYTES == 1000
    with pytest.raises(SettingsError, match="UPLOAD_IP_DAILY_BYTES"):
        Settings.from_env({"UPLOAD_IP_DAILY_BYTES": str(6 * 1024**3)})


def test_upload_ip_daily_bytes_one_address_fills_at_most_a_quarter_of_the_temp_area(make_client):
    data = png_bytes(64, 48)
    client = make_client(UPLOAD_TEMP_HIGH_WATER_BYTES=8 * len(data))

    answers = [client.post("/api/uploads/", data={"file": (io.BytesIO(data), "a.png")}) for _ in range(3)]

    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[-1].get_json()["limit"] == 2 * len(data)


def test_upload_quotas_group_ipv6_addresses_by_64(make_client):
    client = make_client(UPLOAD_DAILY_COUNT=1)

    def post(ip):
        return client.post("/api/uploads/", data={"file": (io.BytesIO(png_bytes()), "a.png")}, **_from(ip))

    assert post("2001:db8:5:6::1").status_code == 201
    assert post("2001:db8:5:6:ffff::2").status_code == 429  # same /64, another address
    assert post("2001:db8:5:7::1").status_code == 201


def test_chunked_uploads_are_cut_at_what_the_quotas_have_left(make_client, settings):
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    client = make_client(UPLOAD_DAILY_BYTES=100_000)
    body = io.BytesIO(b"\0" * (8 * 1024 * 1024))
    environ = EnvironBuilder(path="/api/uploads/", method="POST", input_stream=body,
                             content_type="application/octet-stream").get_environ()
    # Chunked: no Content-Length; the server (gunicorn) ends the stream where the body ends.
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True

    # Straight to the WSGI app: the test client would give the body a Content-Length again.
    app_iter, status, _headers = run_wsgi_app(client.application, environ, buffered=True)
    problem = json.loads(b"".join(app_iter))

    assert status.startswith("413") and problem["code"] == "file_too_large"
    assert body.tell() < 1024 * 1024  # the quota and the form allowance, not the whole 8 MiB
