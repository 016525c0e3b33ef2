"""Logs never carry secrets; Sentry starts from its DSN with the Flask, Dramatiq and SQLAlchemy integrations."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from api.app import create_app
from shared.logs import Redactor
from shared.tenants.service import issue_key
from tests.support.logs import captured_logs
from tests.support.media import png_bytes

ROOT = Path(__file__).resolve().parents[2]
PRIVATE_KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


def test_no_secret_or_private_key_reaches_the_logs(db, redis_client, settings):
    secret_settings = settings.replace(
        OPS_TOKEN="ops-token-d41d8cd98f00b204e9800998ecf8", S3_SECRET_KEY="s3-secret-9e107d9d372bb6826bd81d35",
        WEBHOOK_SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", MODERATOR_TOKEN="moderator-token-5eb63bbbe01eeed093cb",
        SENTRY_DSN="https://f0e1d2c3b4a5@o123.ingest.sentry.io/42",
        ETH_RPC_URL="https://rpcuser:rpc-password-77aa@node.example/v3/project-key")
    client = create_app(secret_settings).test_client()
    api_key = issue_key(db, "default")
    log = logging.getLogger("tests.secrets")
    secrets = [secret_settings.OPS_TOKEN, secret_settings.S3_SECRET_KEY, secret_settings.WEBHOOK_SECRET,
               secret_settings.MODERATOR_TOKEN, "f0e1d2c3b4a5", "rpc-password-77aa", secret_settings.SECRET_KEY,
               api_key, PRIVATE_KEY[2:], "hunter2-db-password"]

    with captured_logs(secret_settings, process="web") as logs:
        client.get("/api/ops/schedules/", headers={"Authorization": f"Bearer {secret_settings.OPS_TOKEN}"})
        client.post("/api/media/", data={"file": (io.BytesIO(png_bytes()), "a.png")},
                    headers={"Authorization": f"Bearer {api_key}"})
        # Careless log calls of every shape a secret could take.
        log.info("connecting to S3 with %s", secret_settings.S3_SECRET_KEY)
        log.info("calling back with header Authorization: Bearer %s", api_key)
        log.info("settings", extra={"s3_secret_key": secret_settings.S3_SECRET_KEY, "ops_token": "x" * 12,
                                    "webhook": {"secret": secret_settings.WEBHOOK_SECRET}})
        log.warning("signing with %s", secret_settings.WEBHOOK_SECRET)
        log.info("dev account %s", {"address": "0xabc", "private_key": PRIVATE_KEY})
        log.info("chain at %s", secret_settings.ETH_RPC_URL)
        log.info("database at postgresql://showreel:hunter2-db-password@db:5432/showreel")
        log.info("download https://x/files/media/a.jpg?exp=1&sig=%s", secret_settings.SECRET_KEY)
        try:
            raise RuntimeError(f"token {secret_settings.MODERATOR_TOKEN} refused by {secret_settings.SENTRY_DSN}")
        except RuntimeError:
            log.exception("moderation call failed")

    text = logs.text
    assert len(logs.lines()) >= 11
    leaked = [secret for secret in secrets if secret in text]
    assert leaked == [], leaked
    assert text.count("[redacted]") >= 10
    assert "0xabc" in text and "node.example" in text  # what is not secret stays readable


def test_the_redactor_masks_values_by_key_and_by_pattern_in_nested_structures():
    redactor = Redactor(["configured-secret"])
    scrubbed = redactor.scrub({"request": {"headers": {"Authorization": "Bearer abcdefgh"}},
                               "extra": ["the configured-secret leaked", "fine"], "count": 3,
                               "password": "", "note": "key sr_" + "a" * 40})
    assert scrubbed == {"request": {"headers": {"Authorization": "[redacted]"}},
                        "extra": ["the [redacted] leaked", "fine"], "count": 3, "password": "",
                        "note": "key sr_[redacted]"}


SENTRY_PROBE = """
import json, sentry_sdk
from shared.logs import configure_sentry
from shared.settings import Settings
off = configure_sentry(Settings.from_env({}), process="probe")
inactive = not sentry_sdk.get_client().is_active()
on = configure_sentry(Settings.from_env({"SENTRY_DSN": "http://publickey@127.0.0.1:9/1",
                                         "OPS_TOKEN": "ops-token-in-an-error"}), process="probe")
client = sentry_sdk.get_client()
event = client.options["before_send"]({"message": "failed with ops-token-in-an-error",
                                       "request": {"headers": {"Authorization": "Bearer x1234567"}}}, {})
print(json.dumps({"off": off, "inactive": inactive, "on": on, "integrations": sorted(client.integrations),
                  "pii": client.options["send_default_pii"], "event": event}))
"""


def test_sentry_is_off_without_a_dsn_and_on_with_its_integrations_and_scrubbing_with_one():
    env = {k: v for k, v in os.environ.items() if k != "SENTRY_DSN"}
    result = subprocess.run([sys.executable, "-c", SENTRY_PROBE], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["off"] is False and probe["inactive"] is True
    assert probe["on"] is True and probe["pii"] is False
    assert {"flask", "dramatiq", "sqlalchemy"} <= set(probe["integrations"])
    assert probe["event"] == {"message": "failed with [redacted]",
                              "request": {"headers": {"Authorization": "[redacted]"}}}
