"""submissions, sign-in nonces and wallet sessions

Revision ID: 0007_submissions
Revises: 0006_uploads
Create Date: 2026-11-21 20:20:15.493890
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shared.db.base

revision = '0007_submissions'
down_revision = '0006_uploads'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('siwe_nonces',
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.Column('issued_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', shared.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('nonce', name=op.f('pk_siwe_nonces'))
    )
    with op.batch_alter_table('siwe_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_siwe_nonces_expires_at'), ['expires_at'], unique=False)

    op.create_table('submissions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('wallet', sa.String(length=42), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('profile_data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('image_upload_id', sa.Uuid(), nullable=False),
    sa.Column('video_upload_id', sa.Uuid(), nullable=False),
    sa.Column('source_info', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('quote_to', sa.String(length=42), nullable=False),
    sa.Column('quote_amount_wei', sa.String(length=80), nullable=False),
    sa.Column('quote_chain_id', sa.BigInteger(), nullable=False),
    sa.Column('quote_tokens', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('quote_expires_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=True),
    sa.Column('payment_posted_at', shared.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('payment', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('payment_error', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('run', sa.Integer(), nullable=False),
    sa.Column('steps', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('outputs', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paid_at', shared.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_at', shared.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submissions')),
    sa.UniqueConstraint('tx_hash', name=op.f('uq_submissions_tx_hash'))
    )
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submissions_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_submissions_wallet'), ['wallet'], unique=False)

    op.create_table('wallet_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('wallet', sa.String(length=42), nullable=False),
    sa.Column('created_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', shared.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_wallet_sessions_token_hash'))
    )
    with op.batch_alter_table('wallet_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallet_sessions_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_wallet_sessions_wallet'), ['wallet'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('wallet_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wallet_sessions_wallet'))
        batch_op.drop_index(batch_op.f('ix_wallet_sessions_expires_at'))

    op.drop_table('wallet_sessions')
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submissions_wallet'))
        batch_op.drop_index(batch_op.f('ix_submissions_status'))

    op.drop_table('submissions')
    with op.batch_alter_table('siwe_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_siwe_nonces_expires_at'))

    op.drop_table('siwe_nonces')
