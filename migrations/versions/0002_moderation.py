"""moderation: lexicon, hashtags, moderators, audit, appeals; users, profiles and profile_hashtags

Revision ID: 0002_moderation
Revises: 0001
Create Date: 2026-11-21 19:52:49.405048
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shared.db.base

revision = '0002_moderation'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('moderators',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('token_prefix', sa.String(length=16), nullable=False),
    sa.Column('is_bootstrap', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', shared.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['moderators.id'], name=op.f('fk_moderators_created_by_moderators'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderators')),
    sa.UniqueConstraint('name', name=op.f('uq_moderators_name')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_moderators_token_hash'))
    )
    op.create_table('users',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('wallet', sa.String(length=42), nullable=False),
    sa.Column('created_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('wallet', name=op.f('uq_users_wallet'))
    )
    op.create_table('hashtags',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('normalized', sa.String(length=200), nullable=False),
    sa.Column('display', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('lexicon_version', sa.Integer(), nullable=False),
    sa.Column('decided_by', sa.Uuid(), nullable=True),
    sa.Column('decided_at', shared.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by'], ['moderators.id'], name=op.f('fk_hashtags_decided_by_moderators'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hashtags')),
    sa.UniqueConstraint('normalized', name=op.f('uq_hashtags_normalized'))
    )
    with op.batch_alter_table('hashtags', schema=None) as batch_op:
        batch_op.create_index('ix_hashtags_lexicon_version', ['lexicon_version'], unique=False)
        batch_op.create_index(batch_op.f('ix_hashtags_status'), ['status'], unique=False)

    op.create_table('moderation_allowlist',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('stem', sa.String(length=100), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['moderators.id'], name=op.f('fk_moderation_allowlist_created_by_moderators'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_allowlist')),
    sa.UniqueConstraint('stem', name=op.f('uq_moderation_allowlist_stem'))
    )
    op.create_table('moderation_lexicon_versions',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['moderators.id'], name=op.f('fk_moderation_lexicon_versions_created_by_moderators'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_moderation_lexicon_versions'))
    )
    op.create_table('moderation_terms',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('term', sa.String(length=100), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['moderators.id'], name=op.f('fk_moderation_terms_created_by_moderators'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_terms')),
    sa.UniqueConstraint('term', name=op.f('uq_moderation_terms_term'))
    )
    op.create_table('profiles',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('url', sa.String(length=2048), nullable=True),
    sa.Column('activity_hobbies', sa.Text(), nullable=True),
    sa.Column('is_incognito', sa.Boolean(), nullable=False),
    sa.Column('avatar_outputs', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('video_outputs', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('published_at', shared.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_profiles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_profiles')),
    sa.UniqueConstraint('user_id', name=op.f('uq_profiles_user_id'))
    )
    op.create_table('moderation_actions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('moderator_id', sa.Uuid(), nullable=True),
    sa.Column('hashtag_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('lexicon_version', sa.Integer(), nullable=True),
    sa.Column('created_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hashtag_id'], ['hashtags.id'], name=op.f('fk_moderation_actions_hashtag_id_hashtags'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['moderator_id'], ['moderators.id'], name=op.f('fk_moderation_actions_moderator_id_moderators'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_actions'))
    )
    with op.batch_alter_table('moderation_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moderation_actions_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_moderation_actions_hashtag_id'), ['hashtag_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_moderation_actions_moderator_id'), ['moderator_id'], unique=False)

    op.create_table('moderation_appeals',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('hashtag_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('wallet', sa.String(length=42), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('original_decider_id', sa.Uuid(), nullable=True),
    sa.Column('decided_by', sa.Uuid(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('decided_at', shared.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by'], ['moderators.id'], name=op.f('fk_moderation_appeals_decided_by_moderators'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['hashtag_id'], ['hashtags.id'], name=op.f('fk_moderation_appeals_hashtag_id_hashtags'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['original_decider_id'], ['moderators.id'], name=op.f('fk_moderation_appeals_original_decider_id_moderators'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_appeals'))
    )
    with op.batch_alter_table('moderation_appeals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moderation_appeals_hashtag_id'), ['hashtag_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_moderation_appeals_status'), ['status'], unique=False)

    op.create_table('profile_hashtags',
    sa.Column('profile_id', sa.Uuid(), nullable=False),
    sa.Column('hashtag_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['hashtag_id'], ['hashtags.id'], name=op.f('fk_profile_hashtags_hashtag_id_hashtags'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_profile_hashtags_profile_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('profile_id', 'hashtag_id', name=op.f('pk_profile_hashtags'))
    )
    with op.batch_alter_table('profile_hashtags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_profile_hashtags_hashtag_id'), ['hashtag_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('profile_hashtags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_profile_hashtags_hashtag_id'))

    op.drop_table('profile_hashtags')
    with op.batch_alter_table('moderation_appeals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_moderation_appeals_status'))
        batch_op.drop_index(batch_op.f('ix_moderation_appeals_hashtag_id'))

    op.drop_table('moderation_appeals')
    with op.batch_alter_table('moderation_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_moderation_actions_moderator_id'))
        batch_op.drop_index(batch_op.f('ix_moderation_actions_hashtag_id'))
        batch_op.drop_index(batch_op.f('ix_moderation_actions_action'))

    op.drop_table('moderation_actions')
    op.drop_table('profiles')
    op.drop_table('moderation_terms')
    op.drop_table('moderation_lexicon_versions')
    op.drop_table('moderation_allowlist')
    with op.batch_alter_table('hashtags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hashtags_status'))
        batch_op.drop_index('ix_hashtags_lexicon_version')

    op.drop_table('hashtags')
    op.drop_table('users')
    op.drop_table('moderators')
