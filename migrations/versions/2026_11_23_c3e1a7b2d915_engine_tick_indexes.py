"""engine tick indexes: due work per tenant (replaces due work across tenants), stale sends,
provider message ids only where there is one

Revision ID: c3e1a7b2d915
Revises: a8e2c4f1d907
Create Date: 2026-11-23 19:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3e1a7b2d915'
down_revision = 'a8e2c4f1d907'
branch_labels = None
depends_on = None

DUE = "status IN ('waiting', 'pending')"
SENDING = "status = 'sending'"
HAS_ID = "provider_message_id IS NOT NULL"


def upgrade():
    with op.batch_alter_table('step_run', schema=None) as batch_op:
        batch_op.create_index('ix_step_run_tenant_due', ['tenant_id', 'due_at'], unique=False,
                              postgresql_where=sa.text(DUE), sqlite_where=sa.text(DUE))
        batch_op.create_index('ix_step_run_sending', ['tenant_id', 'started_at'], unique=False,
                              postgresql_where=sa.text(SENDING), sqlite_where=sa.text(SENDING))
        # Every index costs each step-run write (the tick writes hundreds of thousands).
        batch_op.drop_index('ix_step_run_due', postgresql_where=sa.text(DUE),
                            sqlite_where=sa.text(DUE))
        batch_op.drop_index('ix_step_run_message')
        batch_op.create_index('ix_step_run_message', ['provider_message_id'], unique=False,
                              postgresql_where=sa.text(HAS_ID), sqlite_where=sa.text(HAS_ID))


def downgrade():
    with op.batch_alter_table('step_run', schema=None) as batch_op:
        batch_op.drop_index('ix_step_run_message')
        batch_op.create_index('ix_step_run_message', ['provider_message_id'], unique=False)
        batch_op.create_index('ix_step_run_due', ['due_at'], unique=False,
                              postgresql_where=sa.text(DUE), sqlite_where=sa.text(DUE))
        batch_op.drop_index('ix_step_run_sending')
        batch_op.drop_index('ix_step_run_tenant_due')
