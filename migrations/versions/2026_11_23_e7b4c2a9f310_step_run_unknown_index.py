"""step_run: partial index for uncertain sends (status 'unknown'), read by the resend tick task

Revision ID: e7b4c2a9f310
Revises: c3e1a7b2d915
Create Date: 2026-11-23 19:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e7b4c2a9f310'
down_revision = 'c3e1a7b2d915'
branch_labels = None
depends_on = None

UNKNOWN = "status = 'unknown'"


def upgrade():
    with op.batch_alter_table('step_run', schema=None) as batch_op:
        batch_op.create_index('ix_step_run_unknown', ['tenant_id', 'completed_at'], unique=False,
                              postgresql_where=sa.text(UNKNOWN), sqlite_where=sa.text(UNKNOWN))


def downgrade():
    with op.batch_alter_table('step_run', schema=None) as batch_op:
        batch_op.drop_index('ix_step_run_unknown')
