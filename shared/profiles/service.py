"""Published profiles: the public view, and saving a profile with its hashtags.

The profiles issue builds submissions, payments, editing and listing on top of this.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, selectinload

from shared.db import Database, utcnow
from shared.moderation.check import MAX_TAG_LENGTH, parse_hashtags, upsert_hashtags
from shared.moderation.errors import InvalidHashtag
from shared.moderation.matcher import Matcher
from shared.moderation.models import Hashtag, HashtagStatus
from shared.moderation.normalize import normalize_tag
from shared.payments.wallet import to_checksum_address
from shared.profiles.errors import ProfileNotFound
from shared.profiles.models import Profile, ProfileHashtag, User, search_key

# NUL and lone surrogates cannot even be sent to the database as text.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

PROFILE_FIELDS = ("name", "url", "activity_hobbies", "is_incognito", "avatar_outputs", "video_outputs")


def save_profile(session: Session, matcher: Matcher, wallet: str, *, hashtags: list[str] | str | None = None,
                 published_at: datetime | None = None, **fields: Any) -> Profile:
    """Create or update the wallet's profile in the caller's transaction (a new paid submission updates it).

    Hashtags get their moderation rows here, checked by ``matcher`` (take it with
    ``get_matcher(db)`` before the transaction: on SQLite a second session would wait for
    this one's write lock); ``needs_review`` and ``rejected`` ones are linked but hidden
    from the public view until a moderator approves them.
    """
    wallet = to_checksum_address(wallet)
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"unknown profile fields: {sorted(unknown)}")
    user = session.scalars(select(User).where(User.wallet == wallet)).one_or_none()
    now = utcnow()
    if user is None:
        user = User(wallet=wallet, created_at=now)
        session.add(user)
        session.flush()
    profile = session.scalars(select(Profile).where(Profile.user_id == user.id)).one_or_none()
    if profile is None:
        profile = Profile(user_id=user.id, created_at=now, is_incognito=False)
        session.add(profile)
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.updated_at = now
    if published_at is not None:
        profile.published_at = published_at
    session.flush()
    if hashtags is not None:
        rows = upsert_hashtags(session, parse_hashtags(hashtags), matcher)
        profile.tag_links.clear()
        session.flush()
        for position, row in enumerate(rows):
            profile.tag_links.append(ProfileHashtag(hashtag_id=row.id, position=position))
        session.flush()
    return profile


def public_profile(db: Database, wallet: str) -> dict[str, Any]:
    """What anyone sees: approved tags only; an incognito profile shows no name or link."""
    wallet = to_checksum_address(wallet)
    with db.session() as session:
        profile = session.scalars(
            select(Profile).join(User, User.id == Profile.user_id).where(User.wallet == wallet)
            .options(selectinload(Profile.tag_links).selectinload(ProfileHashtag.hashtag))).one_or_none()
        if profile is None or profile.published_at is None:
            raise ProfileNotFound(f"no published profile for {wallet}")
        return public_view(profile, wallet)


def public_view(profile: Profile, wallet: str) -> dict[str, Any]:
    """A published profile as anyone sees it (its tag links and hashtags loaded)."""
    incognito = profile.is_incognito
    return {
        "wallet": wallet,
        "name": None if incognito else profile.name,
        "url": None if incognito else profile.url,
        "activity_hobbies": profile.activity_hobbies,
        "is_incognito": incognito,
        "hashtags": [link.hashtag.display for link in profile.tag_links
                     if link.hashtag.status == HashtagStatus.APPROVED],
        "avatar": profile.avatar_outputs,
        "video": profile.video_outputs,
        "published_at": profile.published_at,
        "updated_at": profile.updated_at,
    }


def list_profiles(db: Database, *, hashtag: str | None = None, name: str | None = None, page: int = 1,
                  page_size: int = 20) -> dict[str, Any]:
    """One page of the published profiles that are not incognito, newest first.

    ``hashtag`` keeps the profiles carrying that tag, approved (any spelling that normalizes
    the same: ``#Travel`` finds ``travel``); ``name`` those whose name contains it, in any
    letter case (``анна`` finds ``Анна``). Raises InvalidHashtag.
    """
    listed = [Profile.published_at.is_not(None), Profile.is_incognito.is_(False)]
    needle = search_key(_UNSTORABLE.sub("", name or ""))
    if needle:
        listed.append(Profile.search_name.contains(needle, autoescape=True))
    if hashtag is not None:
        tag = hashtag.strip().lstrip("#").strip()
        key = normalize_tag(tag)
        if not key or len(tag) > MAX_TAG_LENGTH or _UNSTORABLE.search(key):
            raise InvalidHashtag(f"a hashtag is 1 to {MAX_TAG_LENGTH} characters with a letter or digit")
        listed.append(exists().where(ProfileHashtag.profile_id == Profile.id,
                                     ProfileHashtag.hashtag_id == Hashtag.id,
                                     Hashtag.normalized == key, Hashtag.status == HashtagStatus.APPROVED))
    with db.session() as session:
        total = session.scalar(select(func.count()).select_from(Profile).where(*listed))
        rows = session.execute(
            select(Profile, User.wallet).join(User, User.id == Profile.user_id).where(*listed)
            .order_by(Profile.published_at.desc(), Profile.id).offset((page - 1) * page_size).limit(page_size)
            .options(selectinload(Profile.tag_links).selectinload(ProfileHashtag.hashtag))).all()
        items = [public_view(profile, wallet) for profile, wallet in rows]
    return {"items": items, "page": page, "page_size": page_size, "total": total,
            "next_page": page + 1 if page * page_size < total else None}


def sitemap_profiles(db: Database, *, limit: int = 50_000) -> list[tuple[str, datetime]]:
    """(wallet, last change) of the profiles a sitemap lists: published, not incognito, newest first."""
    with db.session() as session:
        rows = session.execute(
            select(User.wallet, Profile.updated_at).join(User, User.id == Profile.user_id)
            .where(Profile.published_at.is_not(None), Profile.is_incognito.is_(False))
            .order_by(Profile.published_at.desc(), Profile.id).limit(limit)).all()
    return [(wallet, updated_at) for wallet, updated_at in rows]


def profiles_using_hashtags(session: Session, hashtag_ids: Collection[int]) -> dict[int, list[dict[str, Any]]]:
    """The profiles carrying each hashtag, oldest first, as moderators see them.

    Unpublished and incognito profiles are listed too, with their names: moderators judge a tag in context.
    """
    found: dict[int, list[dict[str, Any]]] = {}
    links = session.execute(
        select(ProfileHashtag.hashtag_id, User.wallet, Profile.name, Profile.is_incognito, Profile.published_at)
        .join(Profile, Profile.id == ProfileHashtag.profile_id).join(User, User.id == Profile.user_id)
        .where(ProfileHashtag.hashtag_id.in_(hashtag_ids)).order_by(Profile.created_at))
    for hashtag_id, wallet, name, incognito, published_at in links:
        found.setdefault(hashtag_id, []).append(
            {"wallet": wallet, "name": name, "is_incognito": incognito, "published_at": published_at})
    return found
