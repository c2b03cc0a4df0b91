"""worklist: the open activities a seller snoozed, indexed (a small partial index: snoozing is
rare), so the Snoozed tab gets a count like the others

Revision ID: e8a3c5d7f912
Revises: d4f1b8e2c6a9
Create Date: 2026-11-29 15:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'e8a3c5d7f912'
down_revision = 'd4f1b8e2c6a9'
branch_labels = None
depends_on = None

SNOOZED = "status = 'open' AND snoozed_until IS NOT NULL"


def upgrade():
    with op.batch_alter_table('step_run', schema=None) as batch_op:
        batch_op.create_index('ix_step_run_snoozed', ['tenant_id', 'seller_id', 'snoozed_until'],
                              unique=False, postgresql_where=sa.text(SNOOZED),
                              sqlite_where=sa.text(SNOOZED))


def downgrade():
    with op.batch_alter_table('step_run', schema=None) as batch_op:
        batch_op.drop_index('ix_step_run_snoozed')
