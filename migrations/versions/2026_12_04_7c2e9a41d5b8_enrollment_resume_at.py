"""engine: an enrollment paused by an out-of-office reply knows when to resume

`enrollment.resume_at` is set when an out-of-office reply pauses an enrollment (the return date
found in the reply, or the tenant's default number of days) and cleared when it resumes, by the
periodic resume (saas.engine.replies.resume_due) or by a person's pause or resume. A partial
index keeps the periodic search to the few enrollments waiting for it.

Revision ID: 7c2e9a41d5b8
Revises: 345317dbffe6
Create Date: 2026-12-04 19:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '7c2e9a41d5b8'
down_revision = '345317dbffe6'
branch_labels = None
depends_on = None

WHERE = "resume_at IS NOT NULL"


def upgrade():
    with op.batch_alter_table("enrollment") as batch:
        batch.add_column(sa.Column("resume_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_enrollment_resume", "enrollment", ["tenant_id", "resume_at"],
                    postgresql_where=sa.text(WHERE), sqlite_where=sa.text(WHERE))


def downgrade():
    op.drop_index("ix_enrollment_resume", table_name="enrollment")
    with op.batch_alter_table("enrollment") as batch:
        batch.drop_column("resume_at")
