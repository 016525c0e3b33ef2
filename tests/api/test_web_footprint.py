"""The web process starts without the heavy libraries that only some requests or other processes need."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Each is loaded where it is used: PyAV in the video probe's child process and the workers, Pillow
# on the first image, the eth stack on sign-in and payments, minio/requests by the storages that
# need them, APScheduler by the scheduler, the moderation libraries on the first hashtag check.
LOADED_ON_USE = ("av", "PIL", "web3", "eth_account", "eth_tester", "minio", "requests", "aiohttp",
                 "apscheduler", "pymorphy3", "english_words", "ahocorasick", "Crypto", "moviepy",
                 "imageio", "dramatiq", "icu")


def test_the_web_app_starts_without_the_libraries_it_loads_on_use(settings):
    script = ("import json, sys; from api.app import wsgi; wsgi(); "
              f"print(json.dumps(sorted(m for m in {LOADED_ON_USE!r} if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)

    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
