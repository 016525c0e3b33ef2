"""The Procfile's web process keeps an idle keep-alive connection open past gunicorn's 2 s default.

A client (or load balancer) that reuses a pooled connection just as the server closes it for
being idle gets a reset or an empty answer; for a POST, nothing retries it. The 10-minute load
run lost 5-6 requests in ~39,000 that way with gunicorn's default of 2 s, the think time of
its users being 2-5 s. WEB_KEEPALIVE_SECONDS (75 by default) outlasts such pauses and the
usual 60 s idle timeout of a load balancer, and an idle connection must not delay a stop.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from honcho.environ import parse_procfile

from tests.support.chain import free_port
from tests.support.runtime import wait_until_serving

ROOT = Path(__file__).resolve().parents[2]

# gunicorn's own keep-alive: an idle connection older than this is closed under the old Procfile line.
GUNICORN_DEFAULT_KEEPALIVE = 2.0


def start_procfile_web(port: int) -> subprocess.Popen:
    command = parse_procfile((ROOT / "Procfile").read_text()).processes["web"]
    env = {**os.environ, "PORT": str(port), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "WEB_CONCURRENCY": "1",
           "LOG_LEVEL": "WARNING", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("WEB_KEEPALIVE_SECONDS", None)  # the shipped default
    return subprocess.Popen(["/bin/sh", "-c", f"exec {command}"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_an_idle_keepalive_connection_is_still_served_after_a_pause_and_does_not_hold_up_a_stop(db):
    port = free_port()
    web = start_procfile_web(port)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", web)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/healthz")
        first = connection.getresponse()
        first.read()
        assert first.status == 200 and (first.getheader("Connection") or "").lower() != "close"
        local = connection.sock.getsockname()

        time.sleep(GUNICORN_DEFAULT_KEEPALIVE + 1.5)  # a user's think time, past gunicorn's default
        connection.request("GET", "/healthz")  # on the same connection: http.client never reconnects by itself
        second = connection.getresponse()
        second.read()
        assert second.status == 200
        assert connection.sock.getsockname() == local

        # The connection is still open and idle: a graceful stop must not wait for it.
        stopping = time.monotonic()
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)
        assert time.monotonic() - stopping < 10
        connection.close()
    finally:
        if web.poll() is None:
            os.killpg(web.pid, signal.SIGKILL)
            web.wait(timeout=10)
