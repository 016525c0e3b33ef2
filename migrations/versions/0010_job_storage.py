"""jobs record their storage connection and count their outcomes (the webhook sequence)

Revision ID: 0010_job_storage
Revises: 0009_moderation_hardening
"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shared.db.base

revision = '0010_job_storage'
down_revision = '0009_moderation_hardening'
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
_tenants = sa.table('tenants', sa.column('id', sa.Uuid()), sa.column('storage_config', _JSON))
_connections = sa.table('storage_connections', sa.column('id', sa.Uuid()), sa.column('tenant_id', sa.Uuid()),
                        sa.column('config', _JSON),
                        sa.column('created_at', shared.db.base.UTCDateTime(timezone=True)))
_jobs = sa.table('media_jobs', sa.column('tenant_id', sa.Uuid()), sa.column('storage_id', sa.Uuid()),
                 sa.column('id', sa.Uuid()), sa.column('outcome_sequence', sa.Integer()))
_deliveries = sa.table('webhook_deliveries', sa.column('job_id', sa.Uuid()), sa.column('sequence', sa.Integer()))


def upgrade() -> None:
    op.create_table('storage_connections',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('config', _JSON, nullable=False),
    sa.Column('created_at', shared.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_storage_connections_tenant_id_tenants'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_storage_connections'))
    )
    op.create_index(op.f('ix_storage_connections_tenant_id'), 'storage_connections', ['tenant_id'])
    # Plain ALTER TABLEs, not a batch: SQLite's batch drops media_jobs, and the drop would cascade
    # to webhook_deliveries. storage_id has no foreign key for the same reason (connections are
    # never deleted while a job exists: a tenant with jobs cannot be deleted).
    op.add_column('media_jobs', sa.Column('storage_id', sa.Uuid(), nullable=True))
    op.add_column('media_jobs', sa.Column('outcome_sequence', sa.Integer(), nullable=False, server_default='0'))
    _record_current_connections()
    _continue_sequences()


def _record_current_connections() -> None:
    """Jobs of tenants with their own storage were written to the connection they hold today."""
    connection = op.get_bind()
    now = datetime.now(UTC)
    # Filtered in Python: tenants created before 0010 hold JSON null (not SQL NULL) for the
    # platform storage, and `IS NOT NULL` matches it on both databases.
    for tenant_id, config in connection.execute(sa.select(_tenants.c.id, _tenants.c.storage_config)).all():
        if config is None:
            connection.execute(_tenants.update().where(_tenants.c.id == tenant_id).values(storage_config=sa.null()))
            continue
        storage_id = uuid.uuid4()
        connection.execute(_connections.insert().values(id=storage_id, tenant_id=tenant_id, config=config,
                                                        created_at=now))
        connection.execute(_jobs.update().where(_jobs.c.tenant_id == tenant_id).values(storage_id=storage_id))


def _continue_sequences() -> None:
    """New outcomes of a job follow the webhook sequences it already handed out."""
    highest = (sa.select(sa.func.max(_deliveries.c.sequence)).where(_deliveries.c.job_id == _jobs.c.id)
               .scalar_subquery())
    op.get_bind().execute(_jobs.update().values(outcome_sequence=sa.func.coalesce(highest, 0)))


def downgrade() -> None:
    op.drop_column('media_jobs', 'outcome_sequence')
    op.drop_column('media_jobs', 'storage_id')
    op.drop_index(op.f('ix_storage_connections_tenant_id'), table_name='storage_connections')
    op.drop_table('storage_connections')
