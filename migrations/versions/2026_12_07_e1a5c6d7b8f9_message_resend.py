"""message_resend: automated emails sent again after a soft bounce (saas.engine.resends)

Revision ID: e1a5c6d7b8f9
Revises: d0f4b5c6a7e8
Create Date: 2026-12-07 15:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "e1a5c6d7b8f9"
down_revision = "d0f4b5c6a7e8"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "message_resend",
        sa.Column("id", BIG, nullable=False),
        sa.Column("step_run_id", BIG, nullable=False),
        sa.Column("enrollment_id", BIG, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("provider_message_id", sa.String(length=128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"],
                                name=op.f("fk_message_resend_tenant_id_tenant"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_resend")),
    )
    op.create_index("uq_message_resend_attempt", "message_resend",
                    ["tenant_id", "step_run_id", "attempt"], unique=True)
    op.create_index("ix_message_resend_due", "message_resend", ["tenant_id", "due_at"],
                    postgresql_where=sa.text("status = 'pending'"),
                    sqlite_where=sa.text("status = 'pending'"))
    op.create_index("ix_message_resend_sending", "message_resend", ["tenant_id", "started_at"],
                    postgresql_where=sa.text("status = 'sending'"),
                    sqlite_where=sa.text("status = 'sending'"))


def downgrade():
    op.drop_table("message_resend")
