"""messaging: sender addresses, their health, pauses and caps

`sender` holds one row per from-address a tenant's automated emails go out from (created when
first used): whether it is paused (automatically, when its hard-bounce or complaint rate over
the last 7 days passes the limit, or resumed by a manager), its caps (daily, hourly, minimum gap;
NULL = the defaults), the time of its last claimed send (the minimum gap), and the seller whose
pool it belongs to (NULL: the tenant's own). The engine locks these rows FOR UPDATE while
claiming sends, so counting against the caps does not race.

`step_run.sender` is the address a claimed send goes out from (counted against its caps and in
its health); `enrollment.sender` the address a record's sequence started with (sender pools).

Revision ID: d5e1a7b20c41
Revises: 7c2e9a41d5b8
Create Date: 2026-12-04 19:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd5e1a7b20c41'
down_revision = '7c2e9a41d5b8'
branch_labels = None
depends_on = None

WHERE = "sender IS NOT NULL"


def upgrade():
    op.create_table(
        "sender",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_reason", sa.String(32), nullable=True),
        sa.Column("paused_stats", sa.JSON(), nullable=True),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resumed_by_id", sa.Integer(), nullable=True),
        sa.Column("daily_cap", sa.Integer(), nullable=True),
        sa.Column("hourly_cap", sa.Integer(), nullable=True),
        sa.Column("min_gap_seconds", sa.Integer(), nullable=True),
        sa.Column("last_send_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_sender_tenant_id_tenant"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sender")),
    )
    op.create_index("uq_sender_address", "sender", ["tenant_id", "address"], unique=True)
    with op.batch_alter_table("step_run") as batch:
        batch.add_column(sa.Column("sender", sa.String(254), nullable=True))
    op.create_index("ix_step_run_sender", "step_run", ["tenant_id", "sender", "started_at"],
                    postgresql_where=sa.text(WHERE), sqlite_where=sa.text(WHERE))
    with op.batch_alter_table("enrollment") as batch:
        batch.add_column(sa.Column("sender", sa.String(254), nullable=True))


def downgrade():
    with op.batch_alter_table("enrollment") as batch:
        batch.drop_column("sender")
    op.drop_index("ix_step_run_sender", table_name="step_run")
    with op.batch_alter_table("step_run") as batch:
        batch.drop_column("sender")
    op.drop_index("uq_sender_address", table_name="sender")
    op.drop_table("sender")
