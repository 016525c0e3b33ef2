"""tus uploads finished on a worker: status, the error of a refusal, the tenant and job of media uploads

Revision ID: 0017_tus_completion
Revises: 0016_tus_uploads
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0017_tus_completion'
down_revision = '0016_tus_uploads'
branch_labels = None
depends_on = None

_JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()),
                                                'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('tus_uploads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=12), nullable=False,
                                      server_default='receiving'))
        batch_op.add_column(sa.Column('tenant_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('job_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('error', _JSON, nullable=True))
    with op.batch_alter_table('tus_uploads', schema=None) as batch_op:
        batch_op.alter_column('status', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('tus_uploads', schema=None) as batch_op:
        batch_op.drop_column('error')
        batch_op.drop_column('job_id')
        batch_op.drop_column('tenant_id')
        batch_op.drop_column('status')
