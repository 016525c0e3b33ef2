"""Queue depths, stream backlogs and dead letters, read straight from Redis and the database.

Dramatiq's Redis broker keeps, under its namespace (``dramatiq``):
``<queue>`` a list of ready message ids; ``<queue>.msgs`` the data of every
message not yet acknowledged (ready or being worked on); ``<queue>.DQ.msgs``
delayed messages (retry backoff); ``<queue>.XQ`` a sorted set of dead message
ids (score: when they died) with their data in ``<queue>.XQ.msgs``. Reading
these keys needs no broker, so the API and the scheduler can report without
importing Dramatiq. Re-driving a dead message puts it back on its queue with its
retry count reset, in one MULTI.

The dispatcher dead-letters stream entries it could not handle to
``events:dead``; re-driving one adds it back to its source stream.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

import redis
from sqlalchemy import func, select

from shared.db import Database, utcnow
from shared.events.models import OutboxEvent
from shared.events.streams import DEAD_LETTER_STREAM, all_streams

NAMESPACE = "dramatiq"
# The queues of workers/broker.py (kept here so shared/ needs no Dramatiq import).
QUEUES = ("video", "media", "light")
DEAD_LETTER_SOURCES = ("dramatiq", "events")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _message(data: bytes | str | None) -> dict[str, Any] | None:
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def queue_depths(client: redis.Redis, queues: Iterable[str] = QUEUES) -> list[dict[str, Any]]:
    """Per queue: ready, unacknowledged (ready + in progress), delayed and dead messages, oldest age."""
    now_ms = time.time() * 1000
    result = []
    for queue in queues:
        key = f"{NAMESPACE}:{queue}"
        pipe = client.pipeline(transaction=False)
        pipe.llen(key)
        pipe.hlen(f"{key}.msgs")
        pipe.hlen(f"{key}.DQ.msgs")
        pipe.zcard(f"{key}.XQ")
        pipe.lindex(key, 0)
        ready, unacked, delayed, dead, head = pipe.execute()
        oldest = None
        if head is not None:
            message = _message(client.hget(f"{key}.msgs", head))
            if message and message.get("message_timestamp"):
                oldest = max(0.0, (now_ms - float(message["message_timestamp"])) / 1000)
        result.append({"queue": queue, "ready": int(ready), "in_progress": max(0, int(unacked) - int(ready)),
                       "delayed": int(delayed), "dead": int(dead), "oldest_age_seconds": oldest})
    return result


def ids_in_broker(client: redis.Redis, queues: Iterable[str]) -> set[str]:
    """The first argument (the id of the row the work is for) of every message the broker holds on ``queues``.

    That is every message not yet acknowledged, ready or in progress (``<queue>.msgs``), and
    every delayed one (``<queue>.DQ.msgs``, a retry's backoff). Dead letters are not counted.
    """
    ids: set[str] = set()
    for queue in queues:
        for key in (f"{NAMESPACE}:{queue}.msgs", f"{NAMESPACE}:{queue}.DQ.msgs"):
            for _, data in client.hscan_iter(key, count=1000):
                message = _message(data)
                args = message.get("args") if isinstance(message, dict) else None
                if isinstance(args, list) and args:
                    ids.add(str(args[0]))
    return ids


def stream_backlogs(client: redis.Redis) -> list[dict[str, Any]]:
    """Per event stream: length and, per consumer group, pending (delivered, not acknowledged) and lag."""
    result = []
    for stream in [*all_streams(), DEAD_LETTER_STREAM]:
        length = int(client.xlen(stream))
        groups = []
        if stream != DEAD_LETTER_STREAM and length:
            try:
                infos = client.xinfo_groups(stream)
            except redis.ResponseError:
                infos = []
            for info in infos:
                groups.append({"group": _text(info.get("name")), "pending": int(info.get("pending") or 0),
                               "consumers": int(info.get("consumers") or 0),
                               "lag": None if info.get("lag") is None else int(info["lag"])})
        result.append({"stream": stream, "length": length, "groups": groups})
    return result


def outbox_backlog(db: Database) -> dict[str, Any]:
    """Unpublished outbox rows and the age of the oldest (the relay is behind or Redis is down)."""
    with db.session() as session:
        count, oldest = session.execute(select(func.count(), func.min(OutboxEvent.created_at))
                                        .where(OutboxEvent.published_at.is_(None))).one()
    age = None
    if oldest is not None:
        age = max(0.0, (utcnow() - oldest).total_seconds())
    return {"unpublished": int(count), "oldest_age_seconds": age}


def dead_letters(client: redis.Redis, *, source: str = "all", queue: str | None = None,
                 limit: int = 100) -> list[dict[str, Any]]:
    """Dead messages, newest first: Dramatiq's per-queue dead letters and the events:dead stream."""
    found: list[dict[str, Any]] = []
    if source in ("all", "dramatiq"):
        for name in ([queue] if queue else QUEUES):
            key = f"{NAMESPACE}:{name}.XQ"
            entries = client.zrevrange(key, 0, limit - 1, withscores=True)
            if not entries:
                continue
            datas = client.hmget(f"{key}.msgs", [message_id for message_id, _ in entries])
            for (message_id, score), data in zip(entries, datas):
                message = _message(data) or {}
                options = message.get("options") or {}
                found.append({
                    "source": "dramatiq", "queue": name, "id": _text(message_id),
                    "actor": message.get("actor_name"), "args": message.get("args"),
                    "retries": options.get("retries"), "died_at": score / 1000,
                    "error": _last_line(options.get("traceback")),
                })
    if source in ("all", "events") and not queue:
        for entry_id, fields in client.xrevrange(DEAD_LETTER_STREAM, count=limit):
            item = {_text(k): _text(v) for k, v in fields.items()}
            found.append({
                "source": "events", "queue": None, "id": _text(entry_id), "type": item.get("type"),
                "event_id": item.get("event_id"), "source_stream": item.get("source_stream"),
                "reason": item.get("reason"), "died_at": int(_text(entry_id).split("-")[0]) / 1000,
            })
    found.sort(key=lambda item: item["died_at"], reverse=True)
    return found[:limit]


def dead_letter_counts(client: redis.Redis) -> dict[str, int]:
    counts = {f"dramatiq:{queue}": int(client.zcard(f"{NAMESPACE}:{queue}.XQ")) for queue in QUEUES}
    counts["events"] = int(client.xlen(DEAD_LETTER_STREAM))
    return counts


def _last_line(traceback: Any) -> str | None:
    if not traceback:
        return None
    lines = [line for line in str(traceback).strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else None


def redrive(client: redis.Redis, *, source: str = "all", queue: str | None = None, ids: list[str] | None = None,
            limit: int = 1000) -> dict[str, Any]:
    """Put dead messages back where they came from; return counts per source and what was not found."""
    wanted = set(ids or [])
    report: dict[str, Any] = {"redriven": 0, "dramatiq": 0, "events": 0, "not_found": []}
    if source in ("all", "dramatiq"):
        for name in ([queue] if queue else QUEUES):
            key = f"{NAMESPACE}:{name}.XQ"
            members = [_text(m) for m in client.zrange(key, 0, -1)]
            for message_id in members:
                if report["redriven"] >= limit:
                    break
                if wanted and message_id not in wanted:
                    continue
                if _redrive_message(client, name, message_id):
                    report["dramatiq"] += 1
                    report["redriven"] += 1
                    wanted.discard(message_id)
    if source in ("all", "events") and not queue:
        for entry_id, fields in client.xrange(DEAD_LETTER_STREAM):
            entry_id = _text(entry_id)
            if report["redriven"] >= limit:
                break
            if wanted and entry_id not in wanted:
                continue
            item = {_text(k): _text(v) for k, v in fields.items()}
            target = item.pop("source_stream", None)
            for extra in ("source_id", "group", "reason"):
                item.pop(extra, None)
            if not target:
                continue
            pipe = client.pipeline(transaction=True)
            pipe.xadd(target, item)
            pipe.xdel(DEAD_LETTER_STREAM, entry_id)
            pipe.execute()
            report["events"] += 1
            report["redriven"] += 1
            wanted.discard(entry_id)
    report["not_found"] = sorted(wanted)
    return report


def _redrive_message(client: redis.Redis, queue: str, message_id: str) -> bool:
    key = f"{NAMESPACE}:{queue}"
    data = client.hget(f"{key}.XQ.msgs", message_id)
    message = _message(data)
    if message is None:
        client.zrem(f"{key}.XQ", message_id)
        return False
    options = dict(message.get("options") or {})
    for stale in ("retries", "traceback", "eta"):
        options.pop(stale, None)
    options["redriven"] = int(options.get("redriven", 0)) + 1
    message["options"] = options
    message["queue_name"] = queue
    pipe = client.pipeline(transaction=True)
    pipe.hset(f"{key}.msgs", message_id, json.dumps(message, separators=(",", ":")))
    pipe.rpush(key, message_id)
    pipe.zrem(f"{key}.XQ", message_id)
    pipe.hdel(f"{key}.XQ.msgs", message_id)
    pipe.execute()
    return True
