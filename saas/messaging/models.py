"""Messaging tables: the outbox (every message the `outbox` provider 'sends', kept for viewing in
the app), message events and the suppression list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from saas.extensions import db
from saas.records.models import BigId
from saas.tenancy import TenantScoped
from saas.timeutil import UtcDateTime, utcnow

# A message event that still has its payload (retention blanks it, keeping kind and time).
EVENT_PAYLOAD = "address IS NOT NULL OR url IS NOT NULL OR CAST(data AS TEXT) <> '{}'"


class OutboxMessage(TenantScoped, db.Model):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_tenant_id_id", "tenant_id", "id"),
                      Index("ix_outbox_message_created", "tenant_id", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), default="email")
    purpose: Mapped[str] = mapped_column(String(32))
    to_address: Mapped[str] = mapped_column(String(254))
    from_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255), default="")
    text_body: Mapped[str] = mapped_column(Text, default="")
    html_body: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict | None] = mapped_column(JSON)
    step_run_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MessageEvent(TenantScoped, db.Model):
    """What happened to a message: processed, delivered, deferred, bounce, dropped, open, click,
    reply, spamreport, unsubscribe (and SMS statuses). Provider events are retried for a day:
    `provider_event_id` is unique per tenant so a retry records nothing twice."""

    __tablename__ = "message_event"
    __table_args__ = (
        Index("uq_message_event_provider_id", "tenant_id", "provider_event_id", unique=True),
        Index("ix_message_event_step_run", "tenant_id", "step_run_id", "kind"),
        Index("ix_message_event_occurred", "tenant_id", "occurred_at"),
        # Retention: the events whose payload is still there, by age (blanked ones leave it).
        Index("ix_message_event_payload", "tenant_id", "occurred_at",
              postgresql_where=text(EVENT_PAYLOAD), sqlite_where=text(EVENT_PAYLOAD)),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    step_run_id: Mapped[int | None] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(16), default="outbox")
    provider_event_id: Mapped[str | None] = mapped_column(String(128))
    address: Mapped[str | None] = mapped_column(String(254))
    url: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Suppression(TenantScoped, db.Model):
    """An address (email, or phone in E.164) no sequence of the tenant may contact again."""

    __tablename__ = "suppression"
    __table_args__ = (Index("uq_suppression_address", "tenant_id", "address", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(254))  # emails lower-cased
    channel: Mapped[str] = mapped_column(String(8), default="email")
    reason: Mapped[str] = mapped_column(String(32))  # unsubscribe|bounce|spamreport|stop|manual
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
