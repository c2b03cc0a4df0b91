"""enrollment: fillfactor 70, so the tick's updates of an enrollment (current step, steps done)
stay on the page as heap-only tuples and write no index entries (PostgreSQL only)

Revision ID: f2a8d6c41b07
Revises: e7b4c2a9f310
Create Date: 2026-11-23 19:30:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f2a8d6c41b07'
down_revision = 'e7b4c2a9f310'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE enrollment SET (fillfactor = 70)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE enrollment RESET (fillfactor)")
