"""tus uploads: updated_at, so the pipeline sweep can tell an upload completing for long

Revision ID: 0018_tus_updated_at
Revises: 0017_tus_completion
"""

import sqlalchemy as sa
from alembic import op

import shared.db.base

revision = '0018_tus_updated_at'
down_revision = '0017_tus_completion'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tus_uploads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', shared.db.base.UTCDateTime(timezone=True), nullable=True))
    # Rows from before: their last change is unknown, their creation is the nearest known time.
    op.execute("UPDATE tus_uploads SET updated_at = created_at")
    with op.batch_alter_table('tus_uploads', schema=None) as batch_op:
        batch_op.alter_column('updated_at', existing_type=shared.db.base.UTCDateTime(timezone=True),
                              nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('tus_uploads', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
