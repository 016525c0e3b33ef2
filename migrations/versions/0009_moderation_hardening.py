"""moderation hardening: an admin role for moderators; revocations reach the tokens a moderator minted

Revision ID: 0009_moderation_hardening
Revises: 0008_payment_hardening
"""

import sqlalchemy as sa
from alembic import op

import shared.db.base

revision = '0009_moderation_hardening'
down_revision = '0008_payment_hardening'
branch_labels = None
depends_on = None

_moderators = sa.table('moderators', sa.column('id', sa.Uuid()), sa.column('created_by', sa.Uuid()),
                       sa.column('revoked_at', shared.db.base.UTCDateTime(timezone=True)))


def upgrade() -> None:
    # A plain ALTER TABLE, not a batch: SQLite's batch copies the table and drops the old one,
    # and that drop nulls every foreign key pointing at a moderator (ON DELETE SET NULL).
    op.add_column('moderators', sa.Column('is_admin', sa.Boolean(), nullable=False, server_default=sa.false()))
    _cascade_old_revocations()


def _cascade_old_revocations() -> None:
    """Revoke what revoked moderators minted before revocation cascaded (their holders keep those tokens)."""
    connection = op.get_bind()
    rows = connection.execute(sa.select(_moderators.c.id, _moderators.c.created_by,
                                        _moderators.c.revoked_at)).all()
    children: dict = {}
    for row in rows:
        children.setdefault(row.created_by, []).append(row)
    pending = [(row.id, row.revoked_at) for row in rows if row.revoked_at is not None]
    while pending:
        parent_id, revoked_at = pending.pop()
        for child in children.get(parent_id, []):
            if child.revoked_at is None:
                connection.execute(sa.update(_moderators).where(_moderators.c.id == child.id)
                                   .values(revoked_at=revoked_at))
                pending.append((child.id, revoked_at))


def downgrade() -> None:
    op.drop_column('moderators', 'is_admin')
