"""engine: a claim token on sends, a heartbeat on connect jobs

A send is claimed with a token (`step_run.claim_token`): its outcome is written only while the
run is still `sending` with that token, so a worker whose lease ran out can never overwrite a
newer claim. A connect job beats (`connect_job.heartbeat_at`) while it runs and remembers the
last record it committed (`connect_job.last_record_id`): a `running` job whose worker stopped is
requeued and goes on after its last committed chunk.

Revision ID: c1a9e5d3f7b2
Revises: b8e1f4a7c2d5
Create Date: 2026-12-02 13:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c1a9e5d3f7b2'
down_revision = 'b8e1f4a7c2d5'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("step_run", sa.Column("claim_token", sa.String(32), nullable=True))
    op.add_column("connect_job", sa.Column("heartbeat_at", sa.DateTime(timezone=True),
                                           nullable=True))
    op.add_column("connect_job", sa.Column("last_record_id", sa.BigInteger(), nullable=True))
    op.create_index("ix_connect_job_running", "connect_job", ["tenant_id", "heartbeat_at"],
                    postgresql_where=sa.text("status = 'running'"),
                    sqlite_where=sa.text("status = 'running'"))


def downgrade():
    op.drop_index("ix_connect_job_running", table_name="connect_job")
    op.drop_column("connect_job", "last_record_id")
    op.drop_column("connect_job", "heartbeat_at")
    op.drop_column("step_run", "claim_token")
