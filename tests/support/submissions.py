"""A submission row past its payment, for tests of what happens after it (pipeline, re-checks, sweeps)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from shared.db import utcnow
from shared.pipeline.ledger import fresh_steps
from shared.submissions.models import PIPELINE_STEPS, Submission

WALLET = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


def add_paid_submission(db, **fields: Any) -> uuid.UUID:
    """Insert a paid submission (run 1, quoted, every step pending, no outputs); ``fields`` set any column."""
    now = utcnow()
    columns: dict[str, Any] = {
        "id": uuid.uuid4(), "wallet": WALLET, "status": "paid", "image_upload_id": uuid.uuid4(),
        "video_upload_id": uuid.uuid4(), "quote_to": "0x" + "1" * 40, "quote_amount_wei": "1",
        "quote_chain_id": 31337, "quote_expires_at": now + timedelta(hours=1), "run": 1, "paid_at": now,
        "steps": fresh_steps(PIPELINE_STEPS), "outputs": {}, **fields}
    with db.session() as session:
        session.add(Submission(**columns))
    return columns["id"]
