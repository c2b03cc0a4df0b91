"""retention: per-tenant indexes by age for the rows the retention job purges or blanks

- segment_event (tenant_id, consumed_at) WHERE consumed_at IS NOT NULL: consumed events by age;
- message_event (tenant_id, occurred_at) WHERE the payload is still there: blanked events leave
  the index, so a run never rescans years of events it already blanked;
- outbox_message and audit_event (tenant_id, created_at): they had only (tenant_id, id);
- step_run (tenant_id, completed_at) WHERE finished with notes or an error: small, and shrinking
  as the job blanks them.
Each lets the job find the tenants with something old in one probe per tenant, and take a
batch without scanning the rows it keeps.

Revision ID: 577ac1d98dca
Revises: d7b3f1a9c4e6
Create Date: 2026-12-03 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '577ac1d98dca'
down_revision = 'd7b3f1a9c4e6'
branch_labels = None
depends_on = None

CONSUMED = "consumed_at IS NOT NULL"
EVENT_PAYLOAD = "address IS NOT NULL OR url IS NOT NULL OR CAST(data AS TEXT) <> '{}'"
FINISHED_WITH_DETAIL = ("status IN ('completed', 'sent', 'skipped', 'cancelled') "
                        "AND (notes IS NOT NULL OR error IS NOT NULL)")


def _partial(where: str) -> dict:
    return {"postgresql_where": sa.text(where), "sqlite_where": sa.text(where)}


def upgrade():
    op.create_index("ix_segment_event_consumed", "segment_event", ["tenant_id", "consumed_at"],
                    **_partial(CONSUMED))
    op.create_index("ix_message_event_payload", "message_event", ["tenant_id", "occurred_at"],
                    **_partial(EVENT_PAYLOAD))
    op.create_index("ix_outbox_message_created", "outbox_message", ["tenant_id", "created_at"])
    op.create_index("ix_audit_event_created", "audit_event", ["tenant_id", "created_at"])
    op.create_index("ix_step_run_detail", "step_run", ["tenant_id", "completed_at"],
                    **_partial(FINISHED_WITH_DETAIL))


def downgrade():
    op.drop_index("ix_step_run_detail", table_name="step_run")
    op.drop_index("ix_audit_event_created", table_name="audit_event")
    op.drop_index("ix_outbox_message_created", table_name="outbox_message")
    op.drop_index("ix_message_event_payload", table_name="message_event")
    op.drop_index("ix_segment_event_consumed", table_name="segment_event")
