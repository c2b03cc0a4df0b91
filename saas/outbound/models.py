"""Outbound webhooks' tables: a tenant's subscriptions, the delivery outbox (one row per event
and subscription, written in the event's transaction) and each attempt to deliver one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from saas.extensions import db
from saas.records.models import BigId
from saas.tenancy import TenantScoped
from saas.timeutil import UtcDateTime, utcnow

# The deliveries a worker may claim: due ones, and claimed ones whose lease ran out (a claimed
# delivery's next_attempt_at is the end of its lease).
CLAIMABLE = "status IN ('pending', 'delivering')"
DELIVERED = "status = 'delivered'"


class WebhookSubscription(TenantScoped, db.Model):
    """An https URL that hears some of the tenant's events, signed with its own secret."""

    __tablename__ = "webhook_subscription"
    __table_args__ = (Index("ix_webhook_subscription_status", "tenant_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    events: Mapped[list] = mapped_column(JSON, default=list)  # event type names (EVENT_TYPES)
    # The signing secret (whsec_...), Fernet-encrypted like provider keys (messaging.crypto).
    secret_encrypted: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | disabled
    disabled_reason: Mapped[str | None] = mapped_column(String(32))  # failing | gone | manual
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Since when its deliveries fail without one success in between (None: not failing).
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class WebhookDelivery(TenantScoped, db.Model):
    """One event for one subscription: the durable outbox the delivery job works from.

    pending -> delivering (claimed: `lease` is the claim's token, `next_attempt_at` the lease's
    end) -> delivered, or back to pending with a later `next_attempt_at` (backoff), or failed
    (24 h of failures from the first attempt, a 410, a refused address)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        # The claim, across tenants: due rows by time (the delivery job serves every tenant).
        Index("ix_webhook_delivery_due", "next_attempt_at",
              postgresql_where=text(CLAIMABLE), sqlite_where=text(CLAIMABLE)),
        Index("ix_webhook_delivery_subscription", "tenant_id", "subscription_id", "id"),
        # Retention: delivered rows by age.
        Index("ix_webhook_delivery_delivered", "created_at",
              postgresql_where=text(DELIVERED), sqlite_where=text(DELIVERED)),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscription.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(64))  # the webhook-id header
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease: Mapped[str | None] = mapped_column(String(32))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class WebhookAttempt(TenantScoped, db.Model):
    """One try at delivering: when, the answer's status and an excerpt of its body, or why not."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (Index("ix_webhook_attempt_delivery", "tenant_id", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("webhook_delivery.id", ondelete="CASCADE"))
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    response_excerpt: Mapped[str | None] = mapped_column(Text)
