"""ops: schedule overrides, ops runs, ops tokens, log context of outbox events

Revision ID: 0003_ops
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shared.db.base

revision = "0003_ops"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = shared.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ops_schedules",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("cron", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_ops_schedules")),
    )
    op.create_table(
        "ops_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("schedule", sa.String(length=100), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("scheduled_for", UTC, nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=True),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("stats", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("started_at", UTC, nullable=True),
        sa.Column("finished_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_runs")),
        sa.UniqueConstraint("schedule", "scheduled_for", name="uq_ops_runs_schedule_scheduled_for"),
    )
    with op.batch_alter_table("ops_runs", schema=None) as batch_op:
        batch_op.create_index("ix_ops_runs_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_ops_runs_schedule_created_at", ["schedule", "created_at"], unique=False)
    op.create_table(
        "ops_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("revoked_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_ops_tokens_token_hash")),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("log_context", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_column("log_context")
    op.drop_table("ops_tokens")
    with op.batch_alter_table("ops_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_ops_runs_schedule_created_at")
        batch_op.drop_index("ix_ops_runs_created_at")
    op.drop_table("ops_runs")
    op.drop_table("ops_schedules")
