"""segment events waiting for the engine, per tenant: a partial index (tenant_id, id) WHERE
consumed_at IS NULL, for the engine's feed (a tenant's pending events in order) and the tick's
search of tenants with work (a skip scan over it: one probe per tenant, however many events a
large import left pending). It replaces ix_segment_event_pending (consumed_at, id), which held
every event ever written and served neither query as well.

Revision ID: d4f1b8e2c6a9
Revises: c7d2e9a4b813
Create Date: 2026-11-29 15:05:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd4f1b8e2c6a9'
down_revision = 'c7d2e9a4b813'
branch_labels = None
depends_on = None

PENDING = "consumed_at IS NULL"


def upgrade():
    with op.batch_alter_table('segment_event', schema=None) as batch_op:
        batch_op.create_index('ix_segment_event_pending_tenant', ['tenant_id', 'id'],
                              unique=False, postgresql_where=sa.text(PENDING),
                              sqlite_where=sa.text(PENDING))
        batch_op.drop_index('ix_segment_event_pending')


def downgrade():
    with op.batch_alter_table('segment_event', schema=None) as batch_op:
        batch_op.create_index('ix_segment_event_pending', ['consumed_at', 'id'], unique=False)
        batch_op.drop_index('ix_segment_event_pending_tenant')
