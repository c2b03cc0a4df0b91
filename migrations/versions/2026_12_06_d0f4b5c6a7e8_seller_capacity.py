"""sellers: time off and capacity

`user_account.capacity`: the most open records a seller holds at once (NULL: no limit).
`seller_time_off`: a seller's days away, with the colleague who covers them; `seller_cover_move`:
each activity or connection handed over for a leave, and how it came back.
`assignment_wait`: unowned records a rule matched while its sellers were away or full.

Revision ID: d0f4b5c6a7e8
Revises: c9e3a4b5f6d7
Create Date: 2026-12-06 21:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "d0f4b5c6a7e8"
down_revision = "c9e3a4b5f6d7"
branch_labels = None
depends_on = None


COVERED = "cover_id IS NOT NULL AND status IN ('planned', 'out')"


def _fk(table, column, target, ondelete):
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete)


def upgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("capacity", sa.Integer(), nullable=True))
    op.create_table(
        "seller_time_off",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("cover_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("moved_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("moved_back_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _fk("seller_time_off", "user_id", "user_account", "CASCADE"),
        _fk("seller_time_off", "cover_id", "user_account", "SET NULL"),
        _fk("seller_time_off", "created_by_id", "user_account", "SET NULL"),
        _fk("seller_time_off", "tenant_id", "tenant", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_time_off")),
    )
    op.create_index("ix_seller_time_off_user", "seller_time_off",
                    ["tenant_id", "user_id", "ends_on"])
    op.create_index("ix_seller_time_off_cover", "seller_time_off", ["tenant_id", "cover_id"])
    op.create_index("ix_seller_time_off_due", "seller_time_off", ["tenant_id", "starts_on"],
                    postgresql_where=sa.text(COVERED), sqlite_where=sa.text(COVERED))
    op.create_table(
        "seller_cover_move",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("time_off_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("from_seller_id", sa.Integer(), nullable=False),
        sa.Column("to_seller_id", sa.Integer(), nullable=False),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _fk("seller_cover_move", "time_off_id", "seller_time_off", "CASCADE"),
        _fk("seller_cover_move", "tenant_id", "tenant", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_cover_move")),
    )
    op.create_index("ix_seller_cover_move_time_off", "seller_cover_move",
                    ["tenant_id", "time_off_id", "kind"])
    op.create_table(
        "assignment_wait",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _fk("assignment_wait", "record_id", "record", "CASCADE"),
        _fk("assignment_wait", "segment_id", "segment", "CASCADE"),
        _fk("assignment_wait", "rule_id", "assignment_rule", "SET NULL"),
        _fk("assignment_wait", "tenant_id", "tenant", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_wait")),
    )
    op.create_index("uq_assignment_wait_record", "assignment_wait", ["tenant_id", "record_id"],
                    unique=True)
    op.create_index("ix_assignment_wait_segment", "assignment_wait",
                    ["tenant_id", "segment_id", "record_id"])


def downgrade():
    op.drop_index("ix_assignment_wait_segment", table_name="assignment_wait")
    op.drop_index("uq_assignment_wait_record", table_name="assignment_wait")
    op.drop_table("assignment_wait")
    op.drop_index("ix_seller_cover_move_time_off", table_name="seller_cover_move")
    op.drop_table("seller_cover_move")
    op.drop_index("ix_seller_time_off_due", table_name="seller_time_off")
    op.drop_index("ix_seller_time_off_cover", table_name="seller_time_off")
    op.drop_index("ix_seller_time_off_user", table_name="seller_time_off")
    op.drop_table("seller_time_off")
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("capacity")
