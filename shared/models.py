"""Import every model so the metadata (and Alembic) sees all tables."""

from shared.auth.models import SiweNonce, WalletSession
from shared.db import Base
from shared.events.models import OutboxEvent
from shared.jobs.models import IdempotencyRecord, MediaJob
from shared.moderation.models import (
    AllowStem,
    Appeal,
    Hashtag,
    LexiconVersion,
    ModerationAction,
    ModerationTerm,
    Moderator,
)
from shared.ops.models import OpsRun, OpsSchedule, OpsToken
from shared.profiles.models import Profile, ProfileHashtag, User
from shared.submissions.models import Submission
from shared.tenants.models import ApiKey, StorageConnection, Tenant
from shared.uploads.models import Upload
from shared.webhooks.models import WebhookDelivery, WebhookEndpoint

__all__ = [
    "AllowStem",
    "ApiKey",
    "Appeal",
    "Base",
    "Hashtag",
    "IdempotencyRecord",
    "LexiconVersion",
    "MediaJob",
    "ModerationAction",
    "ModerationTerm",
    "Moderator",
    "OpsRun",
    "OpsSchedule",
    "OpsToken",
    "OutboxEvent",
    "Profile",
    "ProfileHashtag",
    "SiweNonce",
    "StorageConnection",
    "Submission",
    "Tenant",
    "Upload",
    "User",
    "WalletSession",
    "WebhookDelivery",
    "WebhookEndpoint",
]
