"""engine: deleting a record exits its connections (kept as history) instead of deleting them

The enrollment's foreign key to its record now sets it to NULL on delete: the enrollment stays,
ended as exited with the reason "record_deleted" by records.services.delete_records, so the
sequence's analytics keep counting it. Step runs keep their history.

Revision ID: f5b2d8a1c3e7
Revises: e8a3c5d7f912
Create Date: 2026-11-29 17:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'f5b2d8a1c3e7'
down_revision = 'e8a3c5d7f912'
branch_labels = None
depends_on = None

NAME = "fk_enrollment_record_id_record"


def _foreign_key(ondelete: str, nullable: bool) -> None:
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.drop_constraint(NAME, type_="foreignkey")
        batch_op.alter_column('record_id', existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=nullable)
        batch_op.create_foreign_key(NAME, 'record', ['record_id'], ['id'], ondelete=ondelete)


def upgrade():
    _foreign_key("SET NULL", True)


def downgrade():
    op.execute("DELETE FROM enrollment WHERE record_id IS NULL")
    _foreign_key("CASCADE", False)
