"""A submission of the paid profile flow (SPEC 3)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, utcnow


class SubmissionStatus(str, enum.Enum):
    AWAITING_PAYMENT = "awaiting_payment"
    PAYMENT_PENDING = "payment_pending"
    PAID = "paid"
    PROCESSING = "processing"
    PUBLISHED = "published"
    REJECTED = "rejected"
    FAILED = "failed"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({SubmissionStatus.PUBLISHED, SubmissionStatus.REJECTED, SubmissionStatus.FAILED,
                            SubmissionStatus.EXPIRED})
PIPELINE_STEPS = ("convert", "preview", "upload", "persist")


class Submission(Base):
    __tablename__ = "submissions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    wallet: Mapped[str] = mapped_column(String(42), index=True)  # EIP-55
    status: Mapped[str] = mapped_column(String(20), default=SubmissionStatus.AWAITING_PAYMENT.value, index=True)
    # {name, url, activity_hobbies, hashtags: [...], is_incognito}, validated at creation.
    profile_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    image_upload_id: Mapped[uuid.UUID] = mapped_column()
    video_upload_id: Mapped[uuid.UUID] = mapped_column()
    # {"image": MediaInfo, "video": MediaInfo} of the claimed uploads.
    source_info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The quote, fixed by the server. Amounts are decimal strings: wei do not fit 64 bits.
    quote_to: Mapped[str] = mapped_column(String(42))
    quote_amount_wei: Mapped[str] = mapped_column(String(80))
    quote_chain_id: Mapped[int] = mapped_column(BigInteger)
    quote_tokens: Mapped[dict[str, Any]] = mapped_column(default=dict)  # contract -> price (string)
    quote_expires_at: Mapped[datetime] = mapped_column()
    # Claimed atomically: one transaction pays for one submission, ever.
    tx_hash: Mapped[str | None] = mapped_column(String(66), unique=True, default=None)
    # The hash the owner posted. It is claimed (copied to tx_hash) only once the node shows the
    # transaction sent from the owner's wallet, so a stranger posting it cannot hold it.
    posted_tx_hash: Mapped[str | None] = mapped_column(String(66), default=None)
    payment_posted_at: Mapped[datetime | None] = mapped_column(default=None)
    # What the last check saw: {state, reason, confirmations, block_number, block_hash, asset, amount, checks}
    payment: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    payment_error: Mapped[dict[str, Any] | None] = mapped_column(default=None)  # last refusal {code, message}
    # Pipeline runs started; step messages carry theirs, late ones of an earlier run are ignored.
    run: Mapped[int] = mapped_column(Integer, default=0)
    steps: Mapped[dict[str, Any]] = mapped_column(default=dict)    # {step: {state, deliveries}}
    outputs: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {output: {state, file, key, ...}}
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(default=None)
    published_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def is_final(self) -> bool:
        return SubmissionStatus(self.status).is_final
