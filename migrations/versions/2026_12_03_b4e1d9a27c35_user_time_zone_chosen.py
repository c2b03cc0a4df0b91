"""auth: whether the user chose their time zone

Until a user picks a time zone on their profile, signing in takes it from the browser. A user
whose zone is not UTC already set it on the profile: they chose it.

Revision ID: b4e1d9a27c35
Revises: e2c8a4f6b1d0
Create Date: 2026-12-03 12:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b4e1d9a27c35'
down_revision = 'e2c8a4f6b1d0'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("user_account", sa.Column("time_zone_chosen", sa.Boolean(), nullable=False,
                                            server_default=sa.false()))
    op.execute("UPDATE user_account SET time_zone_chosen = true WHERE time_zone <> 'UTC'")


def downgrade():
    op.drop_column("user_account", "time_zone_chosen")
