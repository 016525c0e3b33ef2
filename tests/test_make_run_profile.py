"""`make run` end to end, as a new user: the whole paid profile flow on the embedded default.

Starts what `make run` starts (``python -m shared.embedded``: SQLite, embedded Redis, the dev
chain and every Procfile process) in a temporary DATA_DIR on free ports, then over HTTP:
validate the form, sign in with a dev-chain wallet (EIP-4361), upload the avatar and the
video, create the submission, pay its quote from the dev account with the command-line
wallet the README shows, watch the live status (SSE) until ``published``, and read the
profile with its name, hashtags and a playable VP9 WebM.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading

import av
import pytest
import requests

from shared.payments.devwallet import login
from tests.support.embedded import ROOT, embedded_system
from tests.support.media import h264_mp4, png_bytes

PROFILE = {"name": "Ann Lee", "url": "https://ann.example.com", "activity_hobbies": "climbing",
           "hashtags": "#travel #Music", "is_incognito": False}


def _follow(url: str, token: str, into: list[dict]) -> None:
    with requests.get(url, headers={"Authorization": f"Bearer {token}"}, stream=True, timeout=90) as response:
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/event-stream")
        for line in response.iter_lines(decode_unicode=True):
            if line and line.startswith("data: "):
                into.append(json.loads(line[len("data: "):]))


@pytest.mark.slow
def test_a_new_user_publishes_a_paid_profile_against_make_run(tmp_path):
    with embedded_system(tmp_path) as system:
        base, env = system.base, system.env
        chain = requests.get(f"{base}/api/dev/chain/", timeout=10).json()
        assert chain["chain_id"] == 31337 and chain["rpc_url"].startswith("http://127.0.0.1:")
        form = requests.post(f"{base}/api/forms/validate/", json=PROFILE, timeout=10).json()
        assert form["valid"], form

        token = login(base, chain["accounts"][0]["private_key"])
        auth = {"Authorization": f"Bearer {token}"}
        image = requests.post(f"{base}/api/uploads/", headers=auth, timeout=30,
                              files={"file": ("me.png", png_bytes(640, 480))})
        clip = h264_mp4(tmp_path / "me.mp4", seconds=2.0, size="320x240")
        video = requests.post(f"{base}/api/uploads/", headers=auth, timeout=60,
                              files={"file": ("me.mp4", clip.read_bytes())})
        assert (image.status_code, video.status_code) == (201, 201), (image.text, video.text)
        created = requests.post(f"{base}/api/submissions/", headers=auth, timeout=30, json={
            "profile_data": PROFILE, "image_upload_id": image.json()["id"], "video_upload_id": video.json()["id"]})
        assert created.status_code == 201, created.text
        submission = created.json()
        assert submission["payment"]["to"] == requests.get(f"{base}/api/dev/chain/", timeout=10).json()["receiver"]

        seen: list[dict] = []
        watcher = threading.Thread(target=_follow, args=(f"{base}/api/submissions/{submission['id']}/events/",
                                                          token, seen), daemon=True)
        watcher.start()
        paid = subprocess.run([sys.executable, "-m", "shared.payments.devwallet", "--api", base, "pay",
                               submission["id"], "--token", token], check=False, cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)
        assert paid.returncode == 0, paid.stdout + paid.stderr
        assert json.loads(paid.stdout)["status_code"] == 202
        watcher.join(timeout=120)
        assert not watcher.is_alive(), f"no final status; seen: {[e.get('status') for e in seen]}"
        statuses = [event["status"] for event in seen]
        assert statuses[-1] == "published", statuses
        running = {step for event in seen for step, state in event["steps"].items() if state == "running"}
        assert running == {"convert", "preview", "upload", "persist"}

        state = requests.get(f"{base}/api/submissions/{submission['id']}/", headers=auth, timeout=10).json()
        profile = requests.get(state["profile_url"], timeout=10).json()
        assert (profile["name"], profile["hashtags"]) == ("Ann Lee", ["travel", "Music"])
        webm = requests.get(profile["video"]["webm"]["url"], timeout=30)
        assert webm.status_code == 200
        with av.open(io.BytesIO(webm.content)) as container:
            stream = container.streams.video[0]
            assert (stream.codec_context.name, container.format.name.split(",")[0]) == ("vp9", "matroska")
            assert next(container.decode(stream)).width == 320
