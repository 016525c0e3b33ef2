"""upload reservations: bytes of uploads still streaming, counted against the quotas

Revision ID: 0012_upload_reservations
Revises: 0011_hashtag_canonical
"""

import sqlalchemy as sa
from alembic import op

import shared.db.base

revision = '0012_upload_reservations'
down_revision = '0011_hashtag_canonical'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('upload_reservations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_wallet', sa.String(length=42), nullable=True),
    sa.Column('owner_ip', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('created_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upload_reservations'))
    )
    with op.batch_alter_table('upload_reservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upload_reservations_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('upload_reservations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upload_reservations_expires_at'))
    op.drop_table('upload_reservations')
