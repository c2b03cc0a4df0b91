"""webhooks: subscriptions and the delivery outbox

`webhook_subscription`: a tenant's URLs that hear its events (saas/outbound), with their
encrypted signing secret, status and since when they fail. `webhook_delivery`: the outbox, one
row per event and subscription, written in the event's transaction and claimed by the delivery
job (partial index on the claimable rows). `webhook_attempt`: each try at a delivery.

Revision ID: b8d2f3a4e5c6
Revises: a7c1e2f3d4b5
Create Date: 2026-12-06 21:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "b8d2f3a4e5c6"
down_revision = "a7c1e2f3d4b5"
branch_labels = None
depends_on = None


BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CLAIMABLE = "status IN ('pending', 'delivering')"
DELIVERED = "status = 'delivered'"


def _tenant(table: str) -> list:
    return [sa.Column("tenant_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"],
                                    name=op.f(f"fk_{table}_tenant_id_tenant"),
                                    ondelete="CASCADE")]


def upgrade():
    op.create_table(
        "webhook_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("disabled_reason", sa.String(length=32), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant("webhook_subscription"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscription")),
    )
    op.create_index("ix_webhook_subscription_status", "webhook_subscription",
                    ["tenant_id", "status"])
    op.create_table(
        "webhook_delivery",
        sa.Column("id", BIG, nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease", sa.String(length=32), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        *_tenant("webhook_delivery"),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["webhook_subscription.id"],
            name=op.f("fk_webhook_delivery_subscription_id_webhook_subscription"),
            ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
    )
    op.create_index("ix_webhook_delivery_due", "webhook_delivery", ["next_attempt_at"],
                    postgresql_where=sa.text(CLAIMABLE), sqlite_where=sa.text(CLAIMABLE))
    op.create_index("ix_webhook_delivery_subscription", "webhook_delivery",
                    ["tenant_id", "subscription_id", "id"])
    op.create_index("ix_webhook_delivery_delivered", "webhook_delivery", ["created_at"],
                    postgresql_where=sa.text(DELIVERED), sqlite_where=sa.text(DELIVERED))
    op.create_table(
        "webhook_attempt",
        sa.Column("id", BIG, nullable=False),
        sa.Column("delivery_id", BIG, nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        *_tenant("webhook_attempt"),
        sa.ForeignKeyConstraint(["delivery_id"], ["webhook_delivery.id"],
                                name=op.f("fk_webhook_attempt_delivery_id_webhook_delivery"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempt")),
    )
    op.create_index("ix_webhook_attempt_delivery", "webhook_attempt",
                    ["tenant_id", "delivery_id", "id"])


def downgrade():
    op.drop_index("ix_webhook_attempt_delivery", table_name="webhook_attempt")
    op.drop_table("webhook_attempt")
    op.drop_index("ix_webhook_delivery_delivered", table_name="webhook_delivery")
    op.drop_index("ix_webhook_delivery_subscription", table_name="webhook_delivery")
    op.drop_index("ix_webhook_delivery_due", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_index("ix_webhook_subscription_status", table_name="webhook_subscription")
    op.drop_table("webhook_subscription")
