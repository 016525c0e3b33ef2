"""The profile flow against a chain, shared by the API tests: app wired to a chain, uploads, submissions."""

from __future__ import annotations

import io
from dataclasses import dataclass

from shared.payments.chain import chain_from_settings
from shared.storage import get_default_storage
from shared.submissions.service import SubmissionContext
from tests.support.wallets import bearer

PROFILE = {"name": "Ann Lee", "url": "https://ann.example.com", "activity_hobbies": "climbing, film",
           "hashtags": "#travel #Music", "is_incognito": False}


@dataclass(frozen=True)
class Media:
    png: bytes
    mp4: bytes


def chain_app(db, settings, monkeypatch):
    """An app (and the workers' submission context) that verify payments on ``settings.ETH_RPC_URL``."""
    from api.app import create_app
    from workers import submission_actors

    app = create_app(settings)
    app.config["TESTING"] = True
    context = SubmissionContext(db=db, settings=settings, chain=lambda: chain_from_settings(settings),
                                storage=lambda: get_default_storage(settings))
    monkeypatch.setattr(submission_actors, "submission_context", lambda: context)
    app.extensions["showreel.submissions"] = context
    return app, context


def upload(client, token: str, data: bytes, name: str) -> str:
    response = client.post("/api/uploads/", data={"file": (io.BytesIO(data), name)}, headers=bearer(token),
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def submit(client, token: str, media: Media, profile: dict | None = None):
    """Upload the avatar and the video, then create the submission; return the response."""
    image_id = upload(client, token, media.png, "me.png")
    video_id = upload(client, token, media.mp4, "me.mp4")
    return client.post("/api/submissions/", headers=bearer(token),
                       json={"profile_data": profile or PROFILE, "image_upload_id": image_id,
                             "video_upload_id": video_id})
