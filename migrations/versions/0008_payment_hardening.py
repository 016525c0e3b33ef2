"""payment hardening: the hash a visitor posted, kept apart from the claimed (unique) one

Revision ID: 0008_payment_hardening
Revises: 0007_submissions
"""

import sqlalchemy as sa
from alembic import op

revision = '0008_payment_hardening'
down_revision = '0007_submissions'
branch_labels = None
depends_on = None

_submissions = sa.table('submissions', sa.column('tx_hash', sa.String(66)), sa.column('posted_tx_hash', sa.String(66)))


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy of the table on SQLite).
    op.add_column('submissions', sa.Column('posted_tx_hash', sa.String(length=66), nullable=True))
    op.execute(_submissions.update().where(_submissions.c.tx_hash.is_not(None))
               .values(posted_tx_hash=_submissions.c.tx_hash))


def downgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_column('posted_tx_hash')
