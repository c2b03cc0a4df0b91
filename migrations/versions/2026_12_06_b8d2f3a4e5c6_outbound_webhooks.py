"""webhooks: subscriptions and the delivery outbox

Revision ID: b8d2f3a4e5c6
Revises: a7c1e2f3d4b5
Create Date: 2026-12-06 21:00:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "b8d2f3a4e5c6"
down_revision = "a7c1e2f3d4b5"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
