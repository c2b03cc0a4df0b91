"""Message templates: an email (subject, HTML and text bodies) or an SMS (one body)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from saas.extensions import db
from saas.tenancy import TenantScoped
from saas.timeutil import utcnow


class TemplateKind(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"

    @property
    def label(self) -> str:
        return "Email" if self is TemplateKind.EMAIL else "SMS"


LANGUAGES = [("en", "English"), ("fr", "French"), ("de", "German"), ("es", "Spanish"),
             ("it", "Italian"), ("nl", "Dutch"), ("pt", "Portuguese"), ("pl", "Polish"),
             ("sv", "Swedish"), ("da", "Danish"), ("fi", "Finnish"), ("nb", "Norwegian")]


class MessageTemplate(TenantScoped, db.Model):
    __tablename__ = "message_template"
    __table_args__ = (Index("ix_message_template_kind_name", "tenant_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(8), default="en")
    subject: Mapped[str] = mapped_column(String(255), default="")
    html_body: Mapped[str] = mapped_column(Text, default="")
    text_body: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)

    @property
    def kind_enum(self) -> TemplateKind:
        return TemplateKind(self.kind)
