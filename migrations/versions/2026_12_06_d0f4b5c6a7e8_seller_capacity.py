"""sellers: time off and capacity

Revision ID: d0f4b5c6a7e8
Revises: c9e3a4b5f6d7
Create Date: 2026-12-06 21:00:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "d0f4b5c6a7e8"
down_revision = "c9e3a4b5f6d7"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
