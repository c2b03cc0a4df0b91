"""The outbox: every message the `outbox` provider 'sends' is kept here for viewing in the app."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from saas.extensions import db
from saas.tenancy import TenantScoped
from saas.timeutil import utcnow


class OutboxMessage(TenantScoped, db.Model):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_tenant_id_id", "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), default="email")
    purpose: Mapped[str] = mapped_column(String(32))
    to_address: Mapped[str] = mapped_column(String(254))
    from_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255), default="")
    text_body: Mapped[str] = mapped_column(Text, default="")
    html_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
