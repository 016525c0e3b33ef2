"""What one poll answered 304 costs the web process: ``python -m bench --only polls``.

Media clients poll ``GET /api/media/{id}/`` with ``If-None-Match`` while a job runs, and in the
photo load (bench/load) those polls take most of the web CPU. This measures one such poll inside
the Flask app (SQLite + the embedded Redis, as ``make run`` has them), side by side in one run:

- *shipped*: the rate limits count in one script call per limit and the RateLimit-* headers are
  read from those counts (api/ratelimit.py ``CountingRedisStorage``); the 304 is decided on the
  job's version alone (``shared.jobs.service.current_job_etag``);
- *before*: flask-limiter's own Redis storage (a script call per limit, then GET and TTL of one
  window for the headers) and the whole job row loaded into a session, as the route did before.

CPU is this process's (the app and its Redis client); Redis round trips are the commands the
app sends (a script call counts once).
"""

from __future__ import annotations

import io
import shutil
import statistics
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from bench.common import markdown_table

HEADING = "## A poll answered 304"
POLLS, ROUNDS = 1000, 5


@contextmanager
def _counting_round_trips():
    """Count the Redis commands this process sends (a script call is one, whatever it runs)."""
    from redis.client import Redis

    sent = [0]
    original = Redis.execute_command

    def counted(self, *args, **options):
        sent[0] += 1
        return original(self, *args, **options)

    Redis.execute_command = counted
    try:
        yield sent
    finally:
        Redis.execute_command = original


@contextmanager
def _as_before():
    """The route and the limiter as they were: flask-limiter's storage, the whole row for a 304."""
    import api.ratelimit
    from shared.jobs import service

    storage_uri, current_job_etag = api.ratelimit.storage_uri, service.current_job_etag
    api.ratelimit.storage_uri = lambda url: url or "memory://"
    service.current_job_etag = lambda db, settings, tenant_id, job_id: service.job_etag(
        service.get_job(db, tenant_id, job_id), settings)
    try:
        yield
    finally:
        api.ratelimit.storage_uri, service.current_job_etag = storage_uri, current_job_etag


def measure(folder: Path, polls: int = POLLS, rounds: int = ROUNDS) -> dict[str, dict[str, list[float]]]:
    from PIL import Image

    from shared.embedded import start_embedded_redis

    redis_process, redis_url = start_embedded_redis(folder)
    try:
        from api.app import create_app
        from shared.db.migrate import upgrade
        from shared.settings import Settings

        settings = Settings.from_env({
            "DATA_DIR": str(folder), "DATABASE_URL": f"sqlite:///{folder / 'showreel.db'}", "REDIS_URL": redis_url,
            "LOG_LEVEL": "WARNING", "RATE_LIMIT_PER_IP": "100000000", "RATE_LIMIT_PER_TENANT": "100000000"})
        upgrade(settings.DATABASE_URL)
        apps = {"shipped": create_app(settings)}
        with _as_before():
            apps["before"] = create_app(settings)
        image = io.BytesIO()
        Image.new("RGB", (64, 64), (9, 99, 199)).save(image, "PNG")
        posted = apps["shipped"].test_client().post("/api/media/", data={"file": (io.BytesIO(image.getvalue()),
                                                                                   "a.png")})
        url = f"/api/media/{posted.get_json()['job_id']}/"
        etag = apps["shipped"].test_client().get(url).headers["ETag"]
        results: dict[str, dict[str, list[float]]] = {name: {"ms": [], "commands": []} for name in apps}
        for _ in range(rounds):
            for name, app in apps.items():
                client = app.test_client()
                with _as_before() if name == "before" else _noop():
                    for _ in range(50):  # warm-up
                        client.get(url, headers={"If-None-Match": etag})
                    with _counting_round_trips() as sent:
                        started = time.process_time()
                        for _ in range(polls):
                            if client.get(url, headers={"If-None-Match": etag}).status_code != 304:
                                raise SystemExit(f"{name}: a poll was not answered 304")
                        cpu = time.process_time() - started
                results[name]["commands"].append(sent[0] / polls)
                results[name]["ms"].append(cpu / polls * 1000)
        return results
    finally:
        redis_process.terminate()
        redis_process.wait(timeout=10)


@contextmanager
def _noop():
    yield


def run() -> str:
    folder = Path(tempfile.mkdtemp(prefix="showreel-polls-"))
    try:
        results = measure(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return section(results)


def section(results: dict[str, dict[str, list[float]]]) -> str:
    shipped, before = (statistics.median(results[n]["ms"]) for n in ("shipped", "before"))
    paired = [b / s for b, s in zip(results["before"]["ms"], results["shipped"]["ms"], strict=True)]
    rows = [[name, f"{statistics.median(r['ms']):.2f}", f"{min(r['ms']):.2f}-{max(r['ms']):.2f}",
             f"{statistics.median(r['commands']):.1f}"] for name, r in results.items()]
    return "\n".join([
        HEADING, "",
        (f"One `GET /api/media/{{id}}/` with a matching `If-None-Match`, answered 304, inside the Flask app "
         f"(test client, SQLite, the embedded Redis), {POLLS} polls a round, {ROUNDS} rounds alternating: "
         f"*shipped* counts each rate limit in one script call and reads the RateLimit-* headers from those "
         f"counts, and decides the 304 on the job's version alone; *before* is flask-limiter's own storage "
         f"(GET and TTL of a window again for the headers) and the whole row loaded into a session. "
         f"`python -m bench --only polls` reruns it."), "",
        markdown_table(["poll", "CPU ms (median)", "range", "Redis round trips"], rows), "",
        (f"The poll as it was costs {before / shipped:.2f}x the shipped one (paired rounds {min(paired):.2f}-"
         f"{max(paired):.2f}x; the test client's own cost is in both). The photo load polls each job 20-40 "
         f"times, so this is web CPU per job; over HTTP gunicorn's parsing and the request log come on top "
         f"(the load section's budget table has the whole web cost per job)."), "",
    ])
