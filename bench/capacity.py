"""Per-job footprint behind the capacity model of docs/SCALING.md: ``python -m bench.capacity``.

Runs one avatar-sized photo and one video through the whole pipeline (relay,
dispatcher and Dramatiq workers in this process, one job at a time) on a private
Redis and a private PostgreSQL database, and prints what each job cost: wall time
per actor, CPU seconds (this process + ffmpeg), database transactions and rows,
Redis commands and stream memory, bytes stored. Nothing else may load the machine
while it runs if the CPU figures are to mean anything.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _photo(path: Path, width: int, height: int) -> Path:
    from PIL import Image

    # Noise over a gradient compresses like a photo (a flat image would flatter every number).
    noise = Image.effect_noise((width, height), 40).convert("RGB")
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    Image.blend(noise, gradient, 0.5).save(path, "JPEG", quality=90)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres", help="admin URL")
    parser.add_argument("--video-seconds", type=float, default=10.0)
    parser.add_argument("--video-size", default="1920x1080")
    parser.add_argument("--photo-size", default="4000x3000")
    options = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="showreel-capacity-"))
    name = f"showreel_capacity_{os.getpid()}"
    db_url = options.pg.rsplit("/", 1)[0] + "/" + name

    from shared.embedded import start_embedded_redis

    redis_process, redis_url = start_embedded_redis(folder)
    os.environ.update({
        "DATABASE_URL": db_url, "REDIS_URL": redis_url, "DATA_DIR": str(folder / "data"),
        "TEMP_DIR": str(folder / "tmp"), "LOCAL_STORAGE_DIR": str(folder / "storage"), "SECRET_KEY": "capacity",
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"), "LOG_LEVEL": "INFO",
    })
    from tests.support.db import create_database, drop_database

    create_database(options.pg, name)
    try:
        results = _measure(folder, options)
    finally:
        from shared.db import get_database

        get_database().dispose()
        drop_database(options.pg, name)
        redis_process.terminate()
        redis_process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(results, indent=2))


def _measure(folder: Path, options) -> dict:
    from sqlalchemy import text

    from api.app import create_app
    from shared.db import get_database
    from shared.db.migrate import upgrade
    from shared.jobs.models import MediaJob
    from shared.redis_client import get_redis
    from shared.settings import get_settings
    from tests.support.logs import captured_logs
    from tests.support.media import h264_mp4
    from tests.support.runtime import pipeline_runtime, wait_for

    settings = get_settings()
    upgrade(settings.DATABASE_URL)
    db = get_database(settings)
    client = create_app(settings).test_client()
    redis = get_redis(settings)
    width, height = (int(v) for v in options.photo_size.split("x"))
    fixtures = {
        "image": _photo(folder / "photo.jpg", width, height),
        "video": h264_mp4(folder / "clip.mp4", seconds=options.video_seconds, size=options.video_size),
    }

    def pg_stats() -> dict[str, int]:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT pg_stat_force_next_flush()"))
        time.sleep(1.2)
        with db.engine.connect() as connection:
            row = connection.execute(text(
                "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database "
                "WHERE datname = current_database()")).one()
        return dict(zip(("commits", "rows_inserted", "rows_updated", "rows_deleted"), row))

    def redis_calls() -> int:
        return sum(int(v["calls"]) for k, v in redis.info("commandstats").items())

    results = {"machine": {"cpus": os.cpu_count()}, "jobs": {}}
    with captured_logs(settings, process="capacity") as logs, \
            pipeline_runtime(settings, worker_threads=2):
        # Idle workers and the dispatcher poll Redis; that background is measured and left out below.
        time.sleep(1.0)
        idle_before, idle_started = redis_calls(), time.perf_counter()
        time.sleep(3.0)
        idle_rate = (redis_calls() - idle_before) / (time.perf_counter() - idle_started)
        results["redis_idle_commands_per_second"] = round(idle_rate, 1)
        for kind, path in fixtures.items():
            stats_before, calls_before, cpu_before = pg_stats(), redis_calls(), _cpu_seconds()
            started = time.perf_counter()
            created = client.post("/api/media/", data={"file": (io.BytesIO(path.read_bytes()), path.name)})
            job_id = created.get_json()["job_id"]
            wait_for(lambda job_id=job_id: client.get(f"/api/media/{job_id}/").get_json()["status"] in ("done", "failed"),
                     timeout=600, interval=0.05)
            wall = time.perf_counter() - started
            time.sleep(1.0)  # the relay publishes job.done and the dispatcher hands it on
            cpu = _cpu_seconds() - cpu_before
            calls = redis_calls() - calls_before - idle_rate * (time.perf_counter() - started)
            stats_after = pg_stats()
            with db.session() as session:
                job = session.get(MediaJob, job_id)
                outputs = {name: out.get("size") for name, out in job.outputs.items()}
                status = job.status
            actors = {}
            for line in logs.lines():
                if line.get("job_id") == job_id and line.get("status") == "success" and "actor" in line:
                    actors[line["actor"]] = line["duration_ms"] / 1000
            results["jobs"][kind] = {
                "status": status, "source_bytes": path.stat().st_size, "output_bytes": sum(outputs.values()),
                "outputs": outputs, "wall_seconds": round(wall, 3), "cpu_seconds": round(cpu, 3),
                "actor_seconds": actors,
                "database": {k: stats_after[k] - stats_before[k] for k in stats_after},
                "redis_commands_beyond_idle": round(calls),
            }
    streams = {}
    for stream in ("events:jobs",):
        length = redis.xlen(stream)
        streams[stream] = {"entries": length, "bytes": redis.memory_usage(stream),
                           "bytes_per_entry": round(redis.memory_usage(stream) / max(1, length))}
    results["streams"] = streams
    return results


if __name__ == "__main__":
    main()
