"""temporary uploads

Revision ID: 0006_uploads
Revises: 0005_merge
Create Date: 2026-11-21 20:14:42.453486
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shared.db.base

revision = '0006_uploads'
down_revision = '0005_merge'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('uploads',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('info', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('temp_path', sa.String(length=500), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('owner_wallet', sa.String(length=42), nullable=True),
    sa.Column('owner_ip', sa.String(length=64), nullable=True),
    sa.Column('submission_id', sa.Uuid(), nullable=True),
    sa.Column('expires_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', shared.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_uploads'))
    )
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.create_index('ix_uploads_expires_at', ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_uploads_owner_ip'), ['owner_ip'], unique=False)
        batch_op.create_index(batch_op.f('ix_uploads_owner_wallet'), ['owner_wallet'], unique=False)
        batch_op.create_index(batch_op.f('ix_uploads_submission_id'), ['submission_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_uploads_submission_id'))
        batch_op.drop_index(batch_op.f('ix_uploads_owner_wallet'))
        batch_op.drop_index(batch_op.f('ix_uploads_owner_ip'))
        batch_op.drop_index('ix_uploads_expires_at')

    op.drop_table('uploads')
