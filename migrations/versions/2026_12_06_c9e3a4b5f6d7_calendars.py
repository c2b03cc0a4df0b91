"""calendars: working days, hours and closure days

Revision ID: c9e3a4b5f6d7
Revises: b8d2f3a4e5c6
Create Date: 2026-12-06 21:00:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "c9e3a4b5f6d7"
down_revision = "b8d2f3a4e5c6"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
