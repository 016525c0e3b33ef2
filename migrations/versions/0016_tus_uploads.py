"""tus uploads: resumable uploads still arriving (their bytes are in storage)

Revision ID: 0016_tus_uploads
Revises: 0015_catalogue
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shared.db.base

revision = '0016_tus_uploads'
down_revision = '0015_catalogue'
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('tus_uploads',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('flow', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('owner_wallet', sa.String(length=42), nullable=True),
    sa.Column('owner_ip', sa.String(length=64), nullable=False),
    sa.Column('length', sa.BigInteger(), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('meta', _JSON, nullable=False),
    sa.Column('key', sa.String(length=500), nullable=False),
    sa.Column('handle', sa.String(length=1000), nullable=False),
    sa.Column('parts', _JSON, nullable=False),
    sa.Column('created_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tus_uploads'))
    )
    with op.batch_alter_table('tus_uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tus_uploads_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tus_uploads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tus_uploads_expires_at'))
    op.drop_table('tus_uploads')
