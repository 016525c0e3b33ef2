"""What the browser tests need the system to hold first, made over HTTP as users make it.

``new_submission`` signs in with a dev-chain wallet, uploads an avatar and a clip and submits;
``publish_profile`` runs the whole paid profile flow (sign in with a dev-chain wallet, upload an avatar
and a clip, submit, pay the quote on the dev chain, follow the live status until ``published``);
``old_temp_files`` leaves files in TEMP_DIR that the nightly purge must remove.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import requests

from shared.payments.devwallet import login, pay
from tests.support.media import h264_mp4, png_bytes


def check_hashtag(base: str, tag: str) -> str:
    """The verdict the automatic check gives ``tag`` now."""
    response = requests.post(f"{base}/api/hashtags/check/", json={"hashtags": tag}, timeout=10)
    response.raise_for_status()
    return response.json()["hashtags"][0]["verdict"]


def new_submission(base: str, chain: dict, *, account: int, profile: dict, folder: Path) -> tuple[str, str]:
    """Sign in as dev-chain ``account``, upload an avatar and a 1 s clip, submit ``profile``;
    return (wallet token, submission id)."""
    token = login(base, chain["accounts"][account]["private_key"])
    auth = {"Authorization": f"Bearer {token}"}
    image = requests.post(f"{base}/api/uploads/", headers=auth, timeout=30,
                          files={"file": ("avatar.png", png_bytes(160, 120))})
    clip = h264_mp4(folder / "clip.mp4", seconds=1.0, size="160x120", audio=False)
    video = requests.post(f"{base}/api/uploads/", headers=auth, timeout=60,
                          files={"file": ("clip.mp4", clip.read_bytes())})
    assert (image.status_code, video.status_code) == (201, 201), (image.text, video.text)
    created = requests.post(f"{base}/api/submissions/", headers=auth, timeout=30, json={
        "profile_data": profile, "image_upload_id": image.json()["id"], "video_upload_id": video.json()["id"]})
    assert created.status_code == 201, created.text
    return token, created.json()["id"]


def publish_profile(base: str, chain: dict, *, account: int, profile: dict, folder: Path,
                    timeout: float = 90) -> str:
    """Publish ``profile`` as dev-chain ``account`` through the paid flow; return the profile's wallet."""
    token, submission_id = new_submission(base, chain, account=account, profile=profile, folder=folder)
    paid = pay(base, chain["rpc_url"], chain["accounts"][account]["private_key"], token, submission_id)
    assert paid["status_code"] == 202, paid
    status = _follow_until_final(f"{base}/api/submissions/{submission_id}/events/", token, timeout)
    assert status == "published", f"submission {submission_id} ended {status}"
    return chain["accounts"][account]["address"]


def _follow_until_final(url: str, token: str, timeout: float) -> str | None:
    """Read the submission's live status stream (SSE) until a final status; return it."""
    final = {"published", "rejected", "failed", "expired"}
    deadline = time.monotonic() + timeout
    status = None
    with requests.get(url, headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
                      stream=True, timeout=timeout) as response:
        assert response.status_code == 200, response.text
        for line in response.iter_lines(decode_unicode=True):
            if line and line.startswith("data: "):
                status = json.loads(line[len("data: "):]).get("status")
                if status in final:
                    return status
            if time.monotonic() > deadline:
                break
    return status


def old_temp_files(temp_dir: Path, *, hours: float = 72, count: int = 3, size: int = 4096) -> list[Path]:
    """Files under ``temp_dir/browser-test`` last modified ``hours`` ago (older than the 48 h retention)."""
    folder = temp_dir / "browser-test"
    folder.mkdir(parents=True, exist_ok=True)
    when = time.time() - hours * 3600
    made = []
    for index in range(count):
        path = folder / f"stale-{index}.bin"
        path.write_bytes(os.urandom(size))
        os.utime(path, (when, when))
        made.append(path)
    os.utime(folder, (when, when))
    return made
