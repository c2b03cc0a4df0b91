"""engine tick: enrollment fillfactor 45 (every move of a batch is a heap-only update), queued
connect jobs indexed for the tick's search of tenants with work

A batch moves every enrollment of a page at once (records connected together fall due together),
and an enrollment's new version can stay on its page (a HOT update: no index entry written) only
if the page has room for a new version of each row while the old ones are still visible: with
fillfactor 70 only ~40% of a batch's updates were HOT and the others wrote five index entries
each. 45 leaves room for all of them (the table is ~1.6x larger; the old versions are pruned
when the page is next touched). Existing rows keep their pages until the table is rewritten
(VACUUM FULL or pg_repack, at a quiet time); new enrollments get the room at once.

Revision ID: c7d2e9a4b813
Revises: b5d9e3f1a2c4
Create Date: 2026-11-29 14:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c7d2e9a4b813'
down_revision = 'b5d9e3f1a2c4'
branch_labels = None
depends_on = None

QUEUED = "status = 'queued'"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE enrollment SET (fillfactor = 45)")
    with op.batch_alter_table('connect_job', schema=None) as batch_op:
        batch_op.create_index('ix_connect_job_queued', ['tenant_id', 'created_at'], unique=False,
                              postgresql_where=sa.text(QUEUED), sqlite_where=sa.text(QUEUED))


def downgrade():
    with op.batch_alter_table('connect_job', schema=None) as batch_op:
        batch_op.drop_index('ix_connect_job_queued')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE enrollment SET (fillfactor = 70)")
