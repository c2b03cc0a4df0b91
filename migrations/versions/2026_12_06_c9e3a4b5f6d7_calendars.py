"""calendars: working days, hours and closure days

`calendar` holds a tenant's working week (at most one row per tenant; none: Monday to Friday,
09:00-17:00 in the tenant's time zone): the weekdays as digits (Monday 0) and the hours as
HH:MM. `closure_day` holds the days the tenant does not work (public holidays from a preset, or
added by hand), one per tenant and date. Sequences that count waits in working time
(`sequence.settings["working_time"]`, no column) read both once per batch.

Revision ID: c9e3a4b5f6d7
Revises: b8d2f3a4e5c6
Create Date: 2026-12-06 21:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "c9e3a4b5f6d7"
down_revision = "b8d2f3a4e5c6"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "calendar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("working_days", sa.String(7), nullable=False),
        sa.Column("day_start", sa.String(5), nullable=False),
        sa.Column("day_end", sa.String(5), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"],
                                name=op.f("fk_calendar_tenant_id_tenant"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar")),
    )
    op.create_index("uq_calendar_tenant", "calendar", ["tenant_id"], unique=True)
    op.create_table(
        "closure_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"],
                                name=op.f("fk_closure_day_tenant_id_tenant"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_closure_day")),
    )
    op.create_index("uq_closure_day", "closure_day", ["tenant_id", "day"], unique=True)


def downgrade():
    op.drop_index("uq_closure_day", table_name="closure_day")
    op.drop_table("closure_day")
    op.drop_index("uq_calendar_tenant", table_name="calendar")
    op.drop_table("calendar")
