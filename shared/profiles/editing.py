"""The owner's edits of a published profile (``PATCH /api/profiles/{wallet}/``), and saving a
profile from inside an open transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.auth.errors import WalletNotOwner
from shared.db import Database
from shared.events.outbox import record_event
from shared.payments.wallet import to_checksum_address
from shared.profiles.models import Profile, User
from shared.profiles.service import ProfileNotFound, save_profile
from shared.profiles.validation import validate_profile_data


class _SessionBound:
    """A ``Database`` whose sessions are one already open session.

    ``save_profile`` reads the moderation lexicon through ``db.session()``; on SQLite a
    second session would wait for the write lock the open one holds (BEGIN IMMEDIATE).
    """

    def __init__(self, db: Database, session: Session):
        self.url = db.url
        self.engine = db.engine
        self._session = session

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        yield self._session


def save_in_session(session: Session, db: Database, wallet: str, **fields: Any) -> Profile:
    """:func:`save_profile` inside the caller's transaction (see :class:`_SessionBound`)."""
    return save_profile(session, _SessionBound(db, session), wallet, **fields)


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
    with db.session() as session:
        exists = session.scalars(select(Profile.id).join(User, User.id == Profile.user_id)
                                 .where(User.wallet == wallet, Profile.published_at.is_not(None))).one_or_none()
        if exists is None:
            raise ProfileNotFound(f"no published profile for {wallet}")
        profile = save_in_session(session, db, wallet, hashtags=hashtags, **fields)
        record_event(session, "profile.updated", profile.id, {"wallet": wallet, "fields": sorted(result.data)})
    return owner_view(db, wallet)


def owner_view(db: Database, wallet: str) -> dict[str, Any]:
    """What the owner sees: every field (also of an incognito profile) and each hashtag's status."""
    from shared.profiles.service import public_profile

    view = public_profile(db, wallet)
    with db.session() as session:
        profile = session.scalars(select(Profile).join(User, User.id == Profile.user_id)
                                  .where(User.wallet == wallet)).one()
        view["name"], view["url"] = profile.name, profile.url
        view["hashtag_status"] = [{"tag": link.hashtag.display, "status": link.hashtag.status,
                                   "reason": link.hashtag.reason if link.hashtag.status != "approved" else None}
                                  for link in profile.tag_links]
    return view
