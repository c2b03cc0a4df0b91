"""api: keys and idempotency keys

Revision ID: a7c1e2f3d4b5
Revises: e6f2b8c31d52
Create Date: 2026-12-06 21:00:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "a7c1e2f3d4b5"
down_revision = "e6f2b8c31d52"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
