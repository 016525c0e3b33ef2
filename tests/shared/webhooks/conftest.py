"""Jobs with callback URLs and a webhook context on a fake clock."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.jobs.models import MediaJob
from shared.tenants.models import DEFAULT_TENANT_ID
from shared.tenants.secrets import new_secret
from shared.tenants.storage import get_tenant_storages
from shared.webhooks.service import WebhookContext


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def secret() -> str:
    return new_secret()


@pytest.fixture()
def ctx(db, settings, clock, secret) -> WebhookContext:
    # Private targets only so that the test's receiver on loopback can be reached.
    local = settings.replace(WEBHOOK_ALLOW_PRIVATE_TARGETS=True, WEBHOOK_SECRET=secret)
    return WebhookContext(db=db, settings=local, storages=get_tenant_storages(local), clock=clock,
                          rng=random.Random(6))


def make_job(db, callback_url: str | None, *, tenant_id: uuid.UUID = DEFAULT_TENANT_ID,
             status: str = "done") -> MediaJob:
    job_id = uuid.uuid4()
    job = MediaJob(id=job_id, tenant_id=tenant_id, kind="image", source_key=f"media/{job_id}/source.png",
                   file_name="holiday.png", content_type="image/png", size=100, sha256=uuid.uuid4().hex * 2,
                   preset="default", preset_version=1, status=status, attempts=1, max_attempts=3,
                   steps={}, outputs={}, source_info={}, result={"kind": "image"}, callback_url=callback_url)
    with db.session() as session:
        session.add(job)
    return job
