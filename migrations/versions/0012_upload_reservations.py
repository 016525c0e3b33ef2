"""upload reservations: bytes of uploads still streaming, counted against the quotas

Revision ID: 0012_upload_reservations
Revises: 0011_hashtag_canonical
"""

import ipaddress

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
    _canonical_owner_addresses()


_uploads = sa.table('uploads', sa.column('id', sa.Uuid()), sa.column('owner_ip', sa.String(64)))


def _canonical(ip: str) -> str:
    # A copy of shared.security.canonical_address as it is now: a migration never changes with the code.
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        return str(address.ipv4_mapped) if address.ipv4_mapped else address.exploded
    return str(address)


def _canonical_owner_addresses() -> None:
    """Uploads saved before owners' IPv6 addresses were written out in full still match their owner."""
    connection = op.get_bind()
    rows = connection.execute(sa.select(_uploads.c.id, _uploads.c.owner_ip)
                              .where(_uploads.c.owner_ip.contains(':'))).all()
    for upload_id, ip in rows:
        if _canonical(ip) != ip:
            connection.execute(_uploads.update().where(_uploads.c.id == upload_id).values(owner_ip=_canonical(ip)))


def downgrade() -> None:
    with op.batch_alter_table('upload_reservations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upload_reservations_expires_at'))
    op.drop_table('upload_reservations')
