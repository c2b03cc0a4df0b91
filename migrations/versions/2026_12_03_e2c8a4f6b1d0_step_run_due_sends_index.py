"""engine: an index of due sends per tenant, for the send jobs

Automated emails and texts are sent by a job per tenant on the `sends` queue, off the tick. The
tick finds the tenants with due sends by a loose scan of this index (one probe per tenant), as it
finds due waits through ix_step_run_tenant_due. A paused enrollment's pending run is held
(due_at NULL) and so never found.

Revision ID: e2c8a4f6b1d0
Revises: 577ac1d98dca
Create Date: 2026-12-03 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'e2c8a4f6b1d0'
down_revision = '577ac1d98dca'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_step_run_tenant_sends", "step_run", ["tenant_id", "due_at"],
                    postgresql_where=sa.text("status = 'pending' AND due_at IS NOT NULL"),
                    sqlite_where=sa.text("status = 'pending' AND due_at IS NOT NULL"))


def downgrade():
    op.drop_index("ix_step_run_tenant_sends", table_name="step_run")
