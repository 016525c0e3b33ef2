"""Moderation tables: lexicon versions, terms, allowlist, hashtags, moderators, audit, appeals."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, event, false
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, utcnow
from shared.db.base import JSONType

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT.
_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class HashtagStatus(enum.StrEnum):
    """A stored hashtag's verdict (the automatic check's or a moderator's); the API shows the value."""

    APPROVED = "approved"
    NEEDS_REVIEW = "needs_review"
    REJECTED = "rejected"


class AppealStatus(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    OVERTURNED = "overturned"


class LexiconVersion(Base):
    """One state of the term lists; every change to terms or allowlist makes a new one."""

    __tablename__ = "moderation_lexicon_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    checksum: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("moderators.id", ondelete="SET NULL"),
                                                         default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModerationTerm(Base):
    __tablename__ = "moderation_terms"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    term: Mapped[str] = mapped_column(String(100), unique=True)
    language: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(10))
    mode: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str | None] = mapped_column(String(500), default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("moderators.id", ondelete="SET NULL"),
                                                         default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AllowStem(Base):
    __tablename__ = "moderation_allowlist"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    stem: Mapped[str] = mapped_column(String(100), unique=True)
    language: Mapped[str] = mapped_column(String(8))
    note: Mapped[str | None] = mapped_column(String(500), default=None)
    source: Mapped[str] = mapped_column(String(100), default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("moderators.id", ondelete="SET NULL"),
                                                         default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Moderator(Base):
    __tablename__ = "moderators"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # Only a SHA-256 of the token is stored; the token is shown once when issued.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(16))
    is_bootstrap: Mapped[bool] = mapped_column(default=False)
    # Admins (and the bootstrap moderator) issue and revoke tokens; plain moderators only moderate.
    is_admin: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("moderators.id", ondelete="SET NULL"),
                                                         default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def role(self) -> str:
        return "admin" if self.is_bootstrap or self.is_admin else "moderator"


class Hashtag(Base):
    __tablename__ = "hashtags"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    normalized: Mapped[str] = mapped_column(String(200), unique=True)
    display: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), index=True)
    # [{"term", "category", "severity", "view"}], the automatic check's findings.
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    # What the user is shown: the moderator's note, else the automatic reason.
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    lexicon_version: Mapped[int] = mapped_column(Integer, default=0)
    # Set when a moderator decided; re-checks after a lexicon change leave such tags alone.
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("moderators.id", ondelete="SET NULL"),
                                                         default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_hashtags_lexicon_version", "lexicon_version"),)


class ModerationAction(Base):
    """Append-only audit log: who did what, why, under which lexicon version."""

    __tablename__ = "moderation_actions"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    moderator_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("moderators.id", ondelete="SET NULL"),
                                                           default=None, index=True)
    hashtag_id: Mapped[int | None] = mapped_column(ForeignKey("hashtags.id", ondelete="SET NULL"), default=None,
                                                   index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str | None] = mapped_column(Text, default=None)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lexicon_version: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Appeal(Base):
    __tablename__ = "moderation_appeals"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    hashtag_id: Mapped[int] = mapped_column(ForeignKey("hashtags.id", ondelete="CASCADE"), index=True)
    wallet: Mapped[str | None] = mapped_column(String(42), default=None)
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=AppealStatus.OPEN.value, index=True)
    # Whose decision is appealed (None: the automatic check); that moderator may not review it.
    original_decider_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("moderators.id", ondelete="SET NULL"), default=None)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("moderators.id", ondelete="SET NULL"),
                                                         default=None)
    decision_note: Mapped[str | None] = mapped_column(Text, default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete an audit row."""


@event.listens_for(ModerationAction, "before_update")
@event.listens_for(ModerationAction, "before_delete")
def _refuse_changes(mapper, connection, target) -> None:  # pragma: no cover - guard
    raise AuditLogIsAppendOnly("moderation_actions is append-only")
