"""engine: the connections still waiting for a seller, indexed (a small partial index), so the
connected-records tab counts and lists them without reading every connection of the sequence

Revision ID: b8e1f4a7c2d5
Revises: a6c4e2f8b1d3
Create Date: 2026-11-29 17:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b8e1f4a7c2d5'
down_revision = 'a6c4e2f8b1d3'
branch_labels = None
depends_on = None

UNASSIGNED = "seller_id IS NULL AND status IN ('active', 'paused')"


def upgrade():
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.create_index('ix_enrollment_unassigned', ['tenant_id', 'lineage_id', 'id'],
                              unique=False, postgresql_where=sa.text(UNASSIGNED),
                              sqlite_where=sa.text(UNASSIGNED))


def downgrade():
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.drop_index('ix_enrollment_unassigned')
