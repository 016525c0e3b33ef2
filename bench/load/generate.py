"""The load generator, run as its own process: ``python -m bench.load.generate OPTIONS``.

Runs the locust users headless (locust as a library, gevent) and writes one JSON line per
request, then the job and submission records and its own CPU seconds, to ``--out``.
It is a separate process because locust patches the standard library with gevent on import.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import gevent
from locust import events
from locust.env import Environment

from bench.load import locustfile

SCENARIOS = {
    "mix": (locustfile.MediaUser, locustfile.ProfileUser, locustfile.Visitor),
    "photo": (locustfile.PhotoUser,),
    "media": (locustfile.MediaUser,),
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="mix")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=600.0, help="how long the mix runs (photo: a time limit)")
    parser.add_argument("--fixtures", type=Path, required=True)
    parser.add_argument("--photos-per-user", type=int, default=8)
    parser.add_argument("--first-photo", type=int, default=0, help="photo fixture the photo users start at")
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between a media client's polls")
    parser.add_argument("--out", type=Path, required=True)
    options = parser.parse_args()
    photos = range(options.first_photo, options.first_photo + options.users * options.photos_per_user)
    locustfile.CONFIG.update(fixtures=str(options.fixtures), photos_per_user=options.photos_per_user,
                             photos=iter(photos), poll=options.poll)

    requests: list[dict] = []

    def on_request(request_type, name, response_time, response_length, response=None, exception=None,
                   start_time=None, **_):
        status = getattr(response, "status_code", 0) or 0
        entry = {"t": start_time or time.time(), "route": f"{name}" if name.startswith(request_type) else
                 f"{request_type} {name}", "status": status, "ms": response_time}
        if status >= 400:
            entry["retry_after"] = response.headers.get("Retry-After")
            try:
                entry["code"] = response.json().get("code")
            except Exception:  # noqa: BLE001 - not a problem+json body
                entry["code"] = None
        elif exception is not None and not status:
            entry["error"] = type(exception).__name__
        requests.append(entry)

    events.request.add_listener(on_request)
    env = Environment(user_classes=list(SCENARIOS[options.scenario]), events=events, host=options.host)
    runner = env.create_local_runner()
    started = time.time()
    runner.start(options.users, spawn_rate=options.spawn_rate)
    deadline = started + options.seconds
    if options.scenario == "photo":
        gevent.sleep(options.users / options.spawn_rate + 1)
        while runner.user_count and time.time() < deadline:
            gevent.sleep(0.2)
    else:
        gevent.sleep(options.seconds)
    ended = time.time()
    runner.quit()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with options.out.open("w") as out:
        out.write(json.dumps({"kind": "run", "started": started, "ended": ended, "users": options.users,
                              "scenario": options.scenario, "cpu": usage.ru_utime + usage.ru_stime}) + "\n")
        for entry in requests:
            out.write(json.dumps({"kind": "request", **entry}) + "\n")
        for record in locustfile.RECORDS:
            out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
