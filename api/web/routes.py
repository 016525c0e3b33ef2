"""Routes of the web pages and their assets (``/assets/...``)."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from flask import Blueprint, current_app, render_template, url_for

STATIC = Path(__file__).parent / "static"

blp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/assets")


@cache
def _asset_version(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


@blp.app_template_global()
def asset(name: str) -> str:
    """URL of a static file with its content hash, so a new release is never served from a stale cache."""
    return url_for("web.static", filename=name, v=_asset_version(name))


def _content_security_policy() -> str:
    """Everything from this server; media also from the S3 host links are signed for, when profiles live there."""
    settings = current_app.config["SETTINGS"]
    media = "'self' data: blob:"
    if settings.STORAGE_PROVIDER == "s3":
        # The browser loads presigned links from the public S3 URL when one is set (shared/storage/providers/s3.py).
        public = settings.S3_PUBLIC_URL.strip().rstrip("/")
        media += " " + (public or f"{'https' if settings.S3_SECURE else 'http'}://{settings.S3_ENDPOINT}")
    return ("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            f"img-src {media}; media-src {media}; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")


@blp.after_request
def _page_headers(response):
    response.headers.setdefault("Content-Security-Policy", _content_security_policy())
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@blp.get("/")
def submit_page():
    settings = current_app.config["SETTINGS"]
    # The server's own limits, so the page can say them and refuse a too-big file before sending it.
    limits = {"image_bytes": settings.MAX_IMAGE_BYTES, "video_bytes": settings.MAX_VIDEO_BYTES,
              "video_seconds": settings.MAX_VIDEO_DURATION}
    return render_template("submit.html", limits=limits)


@blp.get("/p/<wallet>")
def profile_page(wallet: str):
    return render_template("profile.html", wallet=wallet)


@blp.get("/moderation")
def moderation_page():
    return render_template("moderation.html")


@blp.get("/ops")
def ops_page():
    return render_template("ops.html")
