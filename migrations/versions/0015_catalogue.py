"""catalogue: the casefolded name the public catalogue searches

Revision ID: 0015_catalogue
Revises: 0012_upload_reservations
"""

import sqlalchemy as sa
from alembic import op

revision = '0015_catalogue'
down_revision = '0012_upload_reservations'
branch_labels = None
depends_on = None


def _search_key(text):
    # shared.profiles.models.search_key, frozen here: a migration must not change with the code.
    if not text:
        return None
    key = " ".join(text.casefold().replace("ё", "е").split())
    return key[:100] or None


def upgrade() -> None:
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_name', sa.String(length=100), nullable=True))
    profiles = sa.table('profiles', sa.column('id', sa.Uuid()), sa.column('name', sa.String()),
                        sa.column('is_incognito', sa.Boolean()), sa.column('search_name', sa.String()))
    connection = op.get_bind()
    rows = connection.execute(sa.select(profiles.c.id, profiles.c.name, profiles.c.is_incognito)).all()
    for row in rows:
        key = None if row.is_incognito else _search_key(row.name)
        if key:
            connection.execute(profiles.update().where(profiles.c.id == row.id).values(search_name=key))


def downgrade() -> None:
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.drop_column('search_name')
