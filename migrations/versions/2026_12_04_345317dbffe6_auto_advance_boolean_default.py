"""auth: auto_advance defaults to false as a boolean on SQLite too

Migration a8e2c4f1d907 gave `user_account.auto_advance` the server default 'false', a string.
PostgreSQL reads it as the boolean false; SQLite (`make run`'s database) stored the word, and a
stored 'false' reads back as True. On SQLite the column's default becomes 0 (a table rebuild, in
a batch) and the users who got the word get false. Nothing changes on PostgreSQL.

Revision ID: 345317dbffe6
Revises: f3a8c2d9e1b7
Create Date: 2026-12-04 19:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '345317dbffe6'
down_revision = 'f3a8c2d9e1b7'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("user_account") as batch:
        batch.alter_column("auto_advance", existing_type=sa.Boolean(), existing_nullable=False,
                           server_default=sa.false())
    op.execute("UPDATE user_account SET auto_advance = 0 WHERE auto_advance = 'false'")


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("user_account") as batch:
        batch.alter_column("auto_advance", existing_type=sa.Boolean(), existing_nullable=False,
                           server_default="false")
