"""Ops API: schedules, run now, runs, queues and dead letters; every route needs the ops token."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from api.app import create_app
from shared.ops import runs as ops_runs
from shared.ops.tasks import build_context
from shared.ops.tokens import issue, revoke
from tests.support.ops import seed_temp
from tests.support.runtime import pipeline_runtime, wait_for

OPS_TOKEN = "ops-test-token-5d1c7f0123456789abcdef"
AUTH = {"Authorization": f"Bearer {OPS_TOKEN}"}


@pytest.fixture()
def ops_app(db, redis_client, settings):
    app = create_app(settings.replace(OPS_TOKEN=OPS_TOKEN))
    app.config["TESTING"] = True
    return app


@pytest.fixture()
def ops(ops_app):
    return ops_app.test_client()


def ops_routes(app) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/ops/"):
            continue
        path = re.sub(r"<uuid:[^>]+>", str(uuid.uuid4()), rule.rule)
        path = re.sub(r"<[^>]+>", "purge-temp", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


def test_every_ops_endpoint_refuses_calls_without_the_ops_token(ops_app, ops):
    routes = ops_routes(ops_app)
    assert len(routes) >= 9, routes
    for method, path in routes:
        missing = ops.open(path, method=method, json={})
        assert missing.status_code == 401, (method, path, missing.get_json())
        assert missing.get_json()["code"] == "ops_token_required"
        wrong = ops.open(path, method=method, json={}, headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 403 and wrong.get_json()["code"] == "invalid_ops_token", (method, path)
        assert wrong.headers["Content-Type"] == "application/problem+json"


def test_without_a_configured_token_the_ops_api_is_off(client):
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer anything"}):
        response = client.get("/api/ops/schedules/", headers=headers)
        assert response.status_code == 403 and response.get_json()["code"] == "ops_token_not_configured"


def test_an_issued_token_works_until_it_is_revoked(ops, db):
    row, token = issue(db, "night shift")
    assert ops.get("/api/ops/schedules/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert ops.get("/api/tenants/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    revoke(db, row.id)
    response = ops.get("/api/ops/schedules/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403 and response.get_json()["code"] == "invalid_ops_token"


def test_the_schedules_list_shows_the_midnight_purge_with_its_next_run(ops):
    response = ops.get("/api/ops/schedules/", headers=AUTH)
    assert response.status_code == 200
    by_name = {s["name"]: s for s in response.get_json()["schedules"]}
    assert {"purge-temp", "expire-abandoned", "orphan-objects", "dead-letters", "redrive-dead-letters"} <= set(by_name)
    purge = by_name["purge-temp"]
    assert purge["cron"] == "0 0 * * *" and purge["enabled"] and purge["timezone"] == "UTC"
    assert purge["next_run_at"].endswith("T00:00:00+00:00")
    assert by_name["orphan-objects"]["params"] == {"dry_run": True}
    assert by_name["redrive-dead-letters"]["enabled"] is False and by_name["redrive-dead-letters"]["next_run_at"] is None


def test_changing_a_schedule_validates_cron_time_zone_and_parameters(ops):
    changed = ops.put("/api/ops/schedules/purge-temp/", headers=AUTH,
                      json={"cron": "15 2 * * 1-5", "timezone": "Europe/Moscow", "enabled": True})
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["cron"] == "15 2 * * 1-5" and body["timezone"] == "Europe/Moscow" and body["customized"]
    assert body["next_run_at"].endswith("T02:15:00+03:00") and body["updated_by"] == "OPS_TOKEN"
    listed = {s["name"]: s for s in ops.get("/api/ops/schedules/", headers=AUTH).get_json()["schedules"]}
    assert listed["purge-temp"]["cron"] == "15 2 * * 1-5"

    for bad in ({"cron": "61 * * * *"}, {"cron": "every night"}, {"cron": "* * * * * *"}):
        response = ops.put("/api/ops/schedules/purge-temp/", headers=AUTH, json=bad)
        assert response.status_code == 422 and response.get_json()["code"] == "invalid_cron", bad
        assert "cron" in response.get_json()["errors"]
    response = ops.put("/api/ops/schedules/purge-temp/", headers=AUTH, json={"timezone": "Mars/Olympus"})
    assert response.status_code == 422 and response.get_json()["code"] == "invalid_timezone"
    response = ops.put("/api/ops/schedules/purge-temp/", headers=AUTH, json={"params": {"dry_run": "yes"}})
    assert response.status_code == 422 and response.get_json()["code"] == "invalid_params"
    response = ops.put("/api/ops/schedules/purge-temp/", headers=AUTH, json={"params": {"rm_rf": True}})
    assert response.status_code == 422 and response.get_json()["code"] == "invalid_params"
    response = ops.put("/api/ops/schedules/purge-temp/", headers=AUTH, json={"enabled": "sometimes"})
    assert response.status_code == 422 and response.get_json()["code"] == "validation_error"
    response = ops.put("/api/ops/schedules/no-such-job/", headers=AUTH, json={"enabled": False})
    assert response.status_code == 404 and response.get_json()["code"] == "schedule_not_found"
    # Nothing of the refused changes stuck.
    assert ops.get("/api/ops/schedules/purge-temp/", headers=AUTH).get_json()["cron"] == "15 2 * * 1-5"


def test_run_now_purges_temp_on_the_light_queue_and_the_run_report_counts_it(ops, settings, tmp_path):
    temp_dir = Path(settings.TEMP_DIR)
    seeded = seed_temp(temp_dir, tmp_path / "outside")

    with pipeline_runtime(settings, queues=("light",), worker_threads=2):
        accepted = ops.post("/api/ops/schedules/purge-temp/run/", headers=AUTH)
        assert accepted.status_code == 202, accepted.get_json()
        run_id = accepted.get_json()["run_id"]

        def finished():
            run = ops.get(f"/api/ops/runs/{run_id}/", headers=AUTH).get_json()
            return run if run["status"] in ("succeeded", "failed") else None

        run = wait_for(finished, timeout=30, message="run to finish")

    assert run["status"] == "succeeded", run
    assert run["trigger"] == "api" and run["requested_by"] == "OPS_TOKEN"
    assert run["stats"]["files_removed"] == 3 and run["stats"]["bytes_removed"] == 6000
    assert run["stats"]["errors"] == []
    assert not any(p.exists() for p in seeded.old)
    assert all(p.exists() for p in seeded.young)
    assert seeded.outside_target.exists() and seeded.outside_dir_file.exists()
    listed = ops.get("/api/ops/runs/?schedule=purge-temp", headers=AUTH).get_json()["runs"]
    assert [r["id"] for r in listed] == [run_id]
    schedule = ops.get("/api/ops/schedules/purge-temp/", headers=AUTH).get_json()
    assert schedule["last_run"]["id"] == run_id and schedule["last_run"]["status"] == "succeeded"


def test_run_now_with_a_dry_run_parameter_removes_nothing(ops, db, settings, tmp_path):
    seeded = seed_temp(Path(settings.TEMP_DIR), tmp_path / "outside")
    accepted = ops.post("/api/ops/schedules/purge-temp/run/", headers=AUTH, json={"params": {"dry_run": True}})
    assert accepted.status_code == 202
    ops_runs.execute_run(build_context(settings, db), accepted.get_json()["run_id"])  # what the actor does
    run = ops.get(f"/api/ops/runs/{accepted.get_json()['run_id']}/", headers=AUTH).get_json()
    assert run["status"] == "succeeded" and run["params"] == {"dry_run": True}
    assert run["stats"]["files_removed"] == 3 and all(p.exists() for p in seeded.old)
    assert ops.post("/api/ops/schedules/purge-temp/run/", headers=AUTH,
                    json={"params": {"dry_run": 1}}).get_json()["code"] == "invalid_params"
    assert ops.get(f"/api/ops/runs/{uuid.uuid4()}/", headers=AUTH).get_json()["code"] == "run_not_found"


def _dead_dramatiq_message(redis_client, queue: str) -> str:
    message_id = str(uuid.uuid4())
    data = {"queue_name": queue, "actor_name": "cleanup_job", "args": [str(uuid.uuid4())], "kwargs": {},
            "options": {"redis_message_id": message_id, "retries": 10, "traceback": "Traceback...\nKeyError: 'x'"},
            "message_id": message_id, "message_timestamp": 1_700_000_000_000}
    redis_client.zadd(f"dramatiq:{queue}.XQ", {message_id: 1_700_000_000_000})
    redis_client.hset(f"dramatiq:{queue}.XQ.msgs", message_id, json.dumps(data))
    return message_id


def test_dead_letters_are_listed_and_redriven_to_their_queue_and_stream(ops, db, redis_client, settings):
    message_id = _dead_dramatiq_message(redis_client, "light")
    entry_id = redis_client.xadd("events:dead", {"event_id": str(uuid.uuid4()), "type": "job.queued",
                                                 "aggregate_id": "x", "payload": "{}", "occurred_at": "now",
                                                 "source_stream": "events:jobs", "source_id": "1-0",
                                                 "group": "dispatcher", "reason": "too many deliveries"}).decode()

    listed = ops.get("/api/ops/dead-letters/", headers=AUTH).get_json()
    assert listed["counts"]["dramatiq:light"] == 1 and listed["counts"]["events"] == 1
    by_id = {d["id"]: d for d in listed["dead_letters"]}
    assert by_id[message_id]["actor"] == "cleanup_job" and by_id[message_id]["error"] == "KeyError: 'x'"
    assert by_id[entry_id]["reason"] == "too many deliveries"
    assert ops.get("/api/ops/dead-letters/?queue=nope", headers=AUTH).status_code == 422

    accepted = ops.post("/api/ops/dead-letters/redrive/", headers=AUTH, json={"ids": [message_id, entry_id]})
    assert accepted.status_code == 202
    ops_runs.execute_run(build_context(settings, db), accepted.get_json()["run_id"])
    run = ops.get(f"/api/ops/runs/{accepted.get_json()['run_id']}/", headers=AUTH).get_json()
    assert run["stats"]["redriven"] == 2 and run["stats"]["not_found"] == []

    assert redis_client.zcard("dramatiq:light.XQ") == 0 and redis_client.xlen("events:dead") == 0
    assert redis_client.lrange("dramatiq:light", 0, -1) == [message_id.encode()]
    requeued = json.loads(redis_client.hget("dramatiq:light.msgs", message_id))
    assert "retries" not in requeued["options"] and requeued["options"]["redriven"] == 1
    assert [fields[b"type"] for _, fields in redis_client.xrange("events:jobs")] == [b"job.queued"]


def test_queue_depths_show_ready_messages_and_the_outbox_backlog(ops, redis_client):
    _dead_dramatiq_message(redis_client, "video")
    redis_client.rpush("dramatiq:media", "m1")
    redis_client.hset("dramatiq:media.msgs", "m1", json.dumps({"message_timestamp": 1_000}))
    body = ops.get("/api/ops/queues/", headers=AUTH).get_json()
    queues = {q["queue"]: q for q in body["queues"]}
    assert queues["media"]["ready"] == 1 and queues["media"]["oldest_age_seconds"] > 1_000_000
    assert queues["video"]["dead"] == 1 and queues["light"]["ready"] == 0
    assert body["outbox"] == {"unpublished": 0, "oldest_age_seconds": None}
    assert {s["stream"] for s in body["streams"]} >= {"events:jobs", "events:ops", "events:dead"}


def test_the_cli_runs_a_purge_inline_and_changes_schedules(ops_app, settings, tmp_path):
    seeded = seed_temp(Path(settings.TEMP_DIR), tmp_path / "outside")
    runner = ops_app.test_cli_runner()

    result = runner.invoke(args=["ops", "run", "purge-temp", "--inline"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.output)
    assert run["status"] == "succeeded" and run["trigger"] == "cli" and run["stats"]["files_removed"] == 3
    assert not any(p.exists() for p in seeded.old)

    result = runner.invoke(args=["ops", "set", "purge-temp", "--cron", "0 3 * * *", "--disable"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["enabled"] is False
    result = runner.invoke(args=["ops", "set", "purge-temp", "--cron", "0 25 * * *"])
    assert result.exit_code != 0 and "invalid_cron" in result.output
    listed = {s["name"]: s for s in json.loads(runner.invoke(args=["ops", "schedules"]).output)}
    assert listed["purge-temp"]["cron"] == "0 3 * * *" and listed["purge-temp"]["next_run_at"] is None
    runs = json.loads(runner.invoke(args=["ops", "runs"]).output)
    assert [r["id"] for r in runs] == [run["id"]]


def test_the_cli_issues_ops_tokens_that_the_api_accepts_until_revoked(ops_app, ops):
    runner = ops_app.test_cli_runner()
    issued = json.loads(runner.invoke(args=["ops", "tokens", "create", "on-call"]).output)
    assert issued["token"].startswith("ops_")
    headers = {"Authorization": f"Bearer {issued['token']}"}
    changed = ops.put("/api/ops/schedules/dead-letters/", headers=headers, json={"enabled": False})
    assert changed.status_code == 200 and changed.get_json()["updated_by"] == "token:on-call"
    listed = json.loads(runner.invoke(args=["ops", "tokens", "list"]).output)
    assert [t["name"] for t in listed] == ["on-call"] and "token" not in listed[0]
    assert runner.invoke(args=["ops", "tokens", "revoke", issued["id"]]).exit_code == 0
    assert ops.get("/api/ops/schedules/", headers=headers).status_code == 403
