"""Routes of the web pages and their assets (``/assets/...``)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from api.web import i18n
from shared.moderation.errors import InvalidHashtag
from shared.payments.wallet import InvalidWallet
from shared.profiles.errors import ProfileNotFound
from shared.profiles.media import with_media_urls
from shared.profiles.service import list_profiles, public_profile, sitemap_profiles

STATIC = Path(__file__).parent / "static"
MAX_PAGE = 10_000
SEARCH_MAX = 100
# Stable links to a profile's media for previews (Open Graph): each redirects to a fresh presigned link.
MEDIA_LINKS = {
    "poster.jpg": ("video", ("poster",)),
    "video.webm": ("video", ("webm",)),
    "avatar.webp": ("avatar", ("large_webp", "medium_webp", "small_webp")),
    "avatar.jpg": ("avatar", ("large", "medium", "small")),
}
MEDIA_LINK_MAX_AGE = 300  # far below PRESIGNED_URL_TTL: a cached redirect never points at an expired link

blp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/assets")


@cache
def _asset_version(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


@blp.app_template_global()
def asset(name: str) -> str:
    """URL of a static file with its content hash, so a new release is never served from a stale cache."""
    return url_for("web.static", filename=name, v=_asset_version(name))


@blp.app_template_global()
def catalogue_url() -> str:
    """The scripts' messages in the page's language (its version changes with the catalogue)."""
    code = i18n.current_language()
    return url_for("web.js_catalogue", code=code, v=i18n.js_catalogue_version(code))


@blp.app_template_global()
def absolute(path: str) -> str:
    """``path`` under PUBLIC_BASE_URL: canonical and preview links must not trust the Host header."""
    return current_app.config["SETTINGS"].PUBLIC_BASE_URL.rstrip("/") + path


@blp.app_template_global()
def with_language(code: str) -> str:
    """This page's URL with ``?lang=code`` (its other arguments kept), for the switcher."""
    args = {key: value for key, value in request.args.items() if key != "lang"}
    args["lang"] = code
    return request.path + "?" + urlencode(args)


def page_policy() -> str:
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
    response.headers.setdefault("Content-Security-Policy", page_policy())
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        # The words depend on the language, chosen from these two headers (and ?lang=, in the URL).
        response.vary.update(("Accept-Language", "Cookie"))
    chosen = i18n.requested_language()
    if chosen and request.cookies.get(i18n.COOKIE) != chosen:
        response.set_cookie(i18n.COOKIE, chosen, max_age=i18n.COOKIE_MAX_AGE, samesite="Lax",
                            secure=request.is_secure, httponly=True)
    return response


def _db():
    return current_app.extensions["showreel.db"]


def _linked(view: dict[str, Any]) -> dict[str, Any]:
    return with_media_urls(view, current_app.extensions["showreel.default_storage"], current_app.config["SETTINGS"])


@blp.get("/")
def submit_page():
    settings = current_app.config["SETTINGS"]
    # The server's own limits, so the page can say them and refuse a too-big file before sending it.
    limits = {"image_bytes": settings.MAX_IMAGE_BYTES, "video_bytes": settings.MAX_VIDEO_BYTES,
              "video_seconds": settings.MAX_VIDEO_DURATION}
    return render_template("submit.html", limits=limits)


@blp.get("/i18n/<code>.json")
def js_catalogue(code: str):
    """The scripts' messages of one language (api/web/static/js/i18n.js)."""
    if code not in i18n.languages():
        abort(404)
    response = jsonify(i18n.js_catalogue(code))
    # Versioned by the page (?v=<hash of the compiled catalogue>): safe to keep while it is the same.
    response.cache_control.public = True
    response.cache_control.max_age = 86400 if request.args.get("v") else 300
    return response


@blp.get("/p/<wallet>")
def profile_page(wallet: str):
    try:
        profile = _linked(public_profile(_db(), wallet))
    except InvalidWallet:
        return render_template("profile.html", profile=None, problem="invalid_wallet", wallet=wallet), 404
    except ProfileNotFound:
        return render_template("profile.html", profile=None, problem="profile_not_found", wallet=wallet), 404
    return render_template("profile.html", profile=profile, wallet=profile["wallet"], problem=None,
                           avatar=avatar_sources(profile.get("avatar") or {}), preview=preview_meta(profile))


def avatar_sources(outputs: dict[str, Any]) -> dict[str, Any] | None:
    """The avatar's <picture>: WebP and JPEG srcsets with the real widths, and the fallback <img>."""
    def srcset(names):
        return ", ".join(f"{outputs[n]['url']} {outputs[n]['width']}w" for n in names
                         if isinstance(outputs.get(n), dict) and outputs[n].get("url") and outputs[n].get("width"))

    jpeg = srcset(("small", "medium", "large"))
    fallback = next((outputs[n] for n in ("medium", "small", "large") if (outputs.get(n) or {}).get("url")), None)
    if not jpeg or fallback is None:
        return None
    return {"jpeg": jpeg, "webp": srcset(("small_webp", "medium_webp", "large_webp")), "fallback": fallback}


def preview_meta(profile: dict[str, Any]) -> dict[str, Any]:
    """What Open Graph and Twitter cards say of a profile: stable app URLs, never presigned ones."""
    wallet = profile["wallet"]
    video = profile.get("video") or {}
    avatar = profile.get("avatar") or {}
    meta: dict[str, Any] = {"url": absolute(url_for("web.profile_page", wallet=wallet))}
    if (video.get("poster") or {}).get("key"):
        meta["image"] = {**video["poster"], "url": absolute(url_for("web.profile_media", wallet=wallet,
                                                                     name="poster.jpg"))}
    elif any((avatar.get(n) or {}).get("key") for n in MEDIA_LINKS["avatar.jpg"][1]):
        largest = next(avatar[n] for n in MEDIA_LINKS["avatar.jpg"][1] if (avatar.get(n) or {}).get("key"))
        meta["image"] = {**largest, "url": absolute(url_for("web.profile_media", wallet=wallet,
                                                             name="avatar.jpg"))}
    if (video.get("webm") or {}).get("key"):
        meta["video"] = {**video["webm"], "url": absolute(url_for("web.profile_media", wallet=wallet,
                                                                   name="video.webm"))}
    return meta


@blp.get("/p/<wallet>/<any(" + ", ".join(f'"{n}"' for n in MEDIA_LINKS) + "):name>")
def profile_media(wallet: str, name: str):
    """A stable link to a profile's media: a redirect to a presigned link made now."""
    try:
        profile = public_profile(_db(), wallet)
    except (InvalidWallet, ProfileNotFound):
        abort(404)
    group, names = MEDIA_LINKS[name]
    outputs = profile.get(group) or {}
    output = next((outputs[n] for n in names if isinstance(outputs.get(n), dict) and outputs[n].get("key")), None)
    if output is None:
        abort(404)
    settings = current_app.config["SETTINGS"]
    url = current_app.extensions["showreel.default_storage"].presigned_url(
        output["key"], expires=timedelta(seconds=settings.PRESIGNED_URL_TTL))
    response = redirect(url, 302)
    response.cache_control.public = True
    response.cache_control.max_age = MEDIA_LINK_MAX_AGE
    return response


@blp.get("/catalogue")
def catalogue_page():
    """Published profiles, newest first: by an approved hashtag (``?tag=``) and a part of the name (``?q=``)."""
    tag = (request.args.get("tag") or "").strip().lstrip("#").strip() or None
    query = (request.args.get("q") or "").strip()[:SEARCH_MAX] or None
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    settings = current_app.config["SETTINGS"]
    try:
        result = list_profiles(_db(), hashtag=tag, name=query, page=page, page_size=settings.PROFILES_PAGE_SIZE)
    except InvalidHashtag:
        result, status = {"items": [], "page": 1, "page_size": settings.PROFILES_PAGE_SIZE, "total": 0,
                          "next_page": None, "bad_tag": True}, 400
    else:
        status = 200
    result["items"] = [_linked(item) for item in result["items"]]
    pages = max(1, -(-result["total"] // result["page_size"]))
    return render_template("catalogue.html", result=result, tag=tag, query=query, pages=pages,
                           page_url=lambda n: _catalogue_url(tag, query, n)), status


def _catalogue_url(tag: str | None, query: str | None, page: int) -> str:
    args = {key: value for key, value in (("tag", tag), ("q", query), ("page", page if page > 1 else None)) if value}
    return url_for("web.catalogue_page") + ("?" + urlencode(args) if args else "")


@blp.get("/sitemap.xml")
def sitemap():
    """The home page, the catalogue and every public profile (never an incognito one)."""
    profiles = [(absolute(url_for("web.profile_page", wallet=wallet)), updated_at)
                for wallet, updated_at in sitemap_profiles(_db())]
    body = render_template("sitemap.xml", pages=[absolute(url_for("web.submit_page")),
                                                 absolute(url_for("web.catalogue_page"))], profiles=profiles)
    return Response(body, mimetype="application/xml")


@blp.get("/robots.txt")
def robots():
    lines = ["User-agent: *", "Allow: /", "Disallow: /api/", "Disallow: /moderation", "Disallow: /ops",
             "Disallow: /files/", f"Sitemap: {absolute(url_for('web.sitemap'))}", ""]
    return Response("\n".join(lines), mimetype="text/plain")


@blp.get("/moderation")
def moderation_page():
    return render_template("moderation.html")


@blp.get("/ops")
def ops_page():
    return render_template("ops.html")
