"""The owner's edits of a published profile (``PATCH /api/profiles/{wallet}/``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shared.auth.errors import WalletNotOwner
from shared.db import Database
from shared.events.outbox import record_event
from shared.moderation.lexicon import get_matcher
from shared.moderation.models import HashtagStatus
from shared.payments.wallet import to_checksum_address
from shared.profiles.errors import ProfileNotFound
from shared.profiles.models import Profile, User
from shared.profiles.service import public_profile, save_profile
from shared.profiles.validation import validate_profile_data


def edit_profile(db: Database, wallet: str, editor_wallet: str, changes: Any) -> dict[str, Any]:
    """Apply the owner's changes to the text fields; media changes go through a new paid submission.

    The changed fields pass the profile form's rules (hashtags checked again: a rejected
    one refuses the edit). Raises WalletNotOwner, ProfileNotFound, ``validation_error``
    and ``hashtag_rejected``.
    """
    wallet = to_checksum_address(wallet)
    if to_checksum_address(editor_wallet) != wallet:
        raise WalletNotOwner("only the wallet's owner edits its profile")
    result = validate_profile_data(changes, db, partial=True)
    result.raise_for_errors()
    fields = {key: value for key, value in result.data.items() if key != "hashtags"}
    hashtags = result.data.get("hashtags")
    matcher = get_matcher(db)
    with db.session() as session:
        exists = session.scalars(select(Profile.id).join(User, User.id == Profile.user_id)
                                 .where(User.wallet == wallet, Profile.published_at.is_not(None))).one_or_none()
        if exists is None:
            raise ProfileNotFound(f"no published profile for {wallet}")
        profile = save_profile(session, matcher, wallet, hashtags=hashtags, **fields)
        record_event(session, "profile.updated", profile.id, {"wallet": wallet, "fields": sorted(result.data)})
    return owner_view(db, wallet)


def owner_view(db: Database, wallet: str) -> dict[str, Any]:
    """What the owner sees: every field (also of an incognito profile) and each hashtag's status."""
    view = public_profile(db, wallet)
    with db.session() as session:
        profile = session.scalars(select(Profile).join(User, User.id == Profile.user_id)
                                  .where(User.wallet == wallet)).one()
        view["name"], view["url"] = profile.name, profile.url
        view["hashtag_status"] = [
            {"tag": link.hashtag.display, "status": link.hashtag.status,
             "reason": link.hashtag.reason if link.hashtag.status != HashtagStatus.APPROVED else None}
            for link in profile.tag_links]
    return view
