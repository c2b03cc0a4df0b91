"""engine: a paused enrollment's waiting and pending runs leave the due index

While its enrollment is paused, a waiting or pending step run keeps its due time in
`step_run.held_due_at` and has no `due_at`: the tick's index (ix_step_run_tenant_due) and its
search for tenants with work never meet it. Resume puts the due time back. Runs already paused
are held here.

Revision ID: d7b3f1a9c4e6
Revises: c1a9e5d3f7b2
Create Date: 2026-12-02 14:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd7b3f1a9c4e6'
down_revision = 'c1a9e5d3f7b2'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("step_run", sa.Column("held_due_at", sa.DateTime(timezone=True),
                                        nullable=True))
    op.execute("""
        UPDATE step_run SET held_due_at = due_at, due_at = NULL
        WHERE status IN ('waiting', 'pending') AND due_at IS NOT NULL
          AND enrollment_id IN (SELECT id FROM enrollment WHERE status = 'paused')
    """)


def downgrade():
    op.execute("""
        UPDATE step_run SET due_at = held_due_at
        WHERE held_due_at IS NOT NULL AND due_at IS NULL
    """)
    op.drop_column("step_run", "held_due_at")
