"""engine: an enrollment's sequence and a step run's enrollment are no longer foreign keys

Each was a trigger per row written: 25% of connecting a segment (1,000,000 records: 18.4 s ->
15.1 s on the benchmark machine) and a share of every step run the tick writes. What they
guarded is now done once per statement:
- connecting takes the target version's row FOR KEY SHARE (once per chunk, as the trigger did
  once per row), so the version cannot be deleted, nor deactivated, under a connect;
- deleting a sequence takes its versions FOR UPDATE, then deletes their step runs and
  enrollments itself (it is refused while records run in it, so no step run is being written).

Revision ID: a6c4e2f8b1d3
Revises: f5b2d8a1c3e7
Create Date: 2026-11-29 17:20:00

"""
from alembic import op

revision = 'a6c4e2f8b1d3'
down_revision = 'f5b2d8a1c3e7'
branch_labels = None
depends_on = None

DROPPED = [
    ("enrollment", "fk_enrollment_sequence_id_sequence", "sequence", ["sequence_id"]),
    ("step_run", "fk_step_run_enrollment_id_enrollment", "enrollment", ["enrollment_id"]),
]


def upgrade():
    for table, name, _target, _columns in DROPPED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(name, type_="foreignkey")


def downgrade():
    for table, name, target, columns in DROPPED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_foreign_key(name, target, columns, ["id"], ondelete="CASCADE")
