"""Users (one per wallet) and their published profiles (SPEC 3)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, utcnow
from shared.moderation.models import Hashtag


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # EIP-55 checksum form; lookups convert any case to it first.
    wallet: Mapped[str] = mapped_column(String(42), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    profile: Mapped[Profile | None] = relationship(back_populates="user", uselist=False)


class Profile(Base):
    __tablename__ = "profiles"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str | None] = mapped_column(String(100), default=None)
    # The name casefolded in Python, for the catalogue's search (SQLite and a C-collated PostgreSQL
    # fold only ASCII in LIKE/lower()); None on incognito profiles, which are never searched.
    search_name: Mapped[str | None] = mapped_column(String(100), default=None)
    url: Mapped[str | None] = mapped_column(String(2048), default=None)
    activity_hobbies: Mapped[str | None] = mapped_column(Text, default=None)
    is_incognito: Mapped[bool] = mapped_column(default=False)
    # {output name: storage key / metadata}, written when the media pipeline persists.
    avatar_outputs: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    video_outputs: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="profile")
    tag_links: Mapped[list[ProfileHashtag]] = relationship(
        back_populates="profile", cascade="all, delete-orphan", order_by="ProfileHashtag.position")


def search_key(text: str | None) -> str | None:
    """How names are compared in search: casefolded, ё as е, spaces collapsed."""
    if not text:
        return None
    key = " ".join(text.casefold().replace("ё", "е").split())
    return key[:100] or None


@event.listens_for(Profile, "before_insert")
@event.listens_for(Profile, "before_update")
def _keep_search_name(_mapper, _connection, profile: Profile) -> None:
    profile.search_name = None if profile.is_incognito else search_key(profile.name)


class ProfileHashtag(Base):
    """The profile <-> hashtag association, in the order the user wrote the tags."""

    __tablename__ = "profile_hashtags"

    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True)
    hashtag_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"),
                                            ForeignKey("hashtags.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    profile: Mapped[Profile] = relationship(back_populates="tag_links")
    hashtag: Mapped[Hashtag] = relationship()
