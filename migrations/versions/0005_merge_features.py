"""merge the moderation, ops and business branches

Revision ID: 0005_merge
Revises: 0002_moderation, 0003_ops, 0004_business
"""

revision = "0005_merge"
down_revision = ("0002_moderation", "0003_ops", "0004_business")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
