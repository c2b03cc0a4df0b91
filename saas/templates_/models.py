"""Message templates: an email (subject, HTML and text bodies) or an SMS (one body)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from saas.extensions import db
from saas.i18n import _
from saas.tenancy import TenantScoped
from saas.timeutil import UtcDateTime, utcnow


class TemplateKind(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"

    @property
    def label(self) -> str:
        return _("Email") if self is TemplateKind.EMAIL else _("SMS")


# A template's language, each named in itself (as the UI's switcher names English and French;
# never translated): the picker says "Trade show intro · English, Français".
LANGUAGES = [("en", "English"), ("fr", "Français"), ("de", "Deutsch"), ("es", "Español"),
             ("it", "Italiano"), ("nl", "Nederlands"), ("pt", "Português"), ("pl", "Polski"),
             ("sv", "Svenska"), ("da", "Dansk"), ("fi", "Suomi"), ("nb", "Norsk")]
LANGUAGE_NAMES = dict(LANGUAGES)


def language_name(code: str | None) -> str:
    return LANGUAGE_NAMES.get(code or "", code or "")


class MessageTemplate(TenantScoped, db.Model):
    __tablename__ = "message_template"
    __table_args__ = (
        Index("ix_message_template_kind_name", "tenant_id", "kind", "name"),
        Index("uq_message_template_translation", "tenant_id", "translation_of_id", "language",
              unique=True, postgresql_where=text("translation_of_id IS NOT NULL"),
              sqlite_where=text("translation_of_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(8), default="en")
    # A version of another template in another language; None for the template steps pick.
    translation_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("message_template.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(255), default="")
    html_body: Mapped[str] = mapped_column(Text, default="")
    text_body: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow,
                                                 onupdate=utcnow)

    @property
    def kind_enum(self) -> TemplateKind:
        return TemplateKind(self.kind)

    @property
    def is_version(self) -> bool:
        return self.translation_of_id is not None

    @property
    def language_name(self) -> str:
        return language_name(self.language)
