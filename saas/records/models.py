"""Records (leads and opportunities in one table) and the custom fields admins define."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from saas.extensions import db
from saas.i18n import _, _l
from saas.tenancy import TenantScoped
from saas.timeutil import UtcDateTime, utcnow

BigId = BigInteger().with_variant(Integer, "sqlite")
Json = JSON().with_variant(JSONB, "postgresql")


class RecordType(enum.StrEnum):
    LEAD = "lead"
    OPPORTUNITY = "opportunity"

    @property
    def label(self) -> str:
        """"Lead" or "Opportunity" in the viewer's language."""
        return _("Lead") if self is RecordType.LEAD else _("Opportunity")

    @property
    def plural(self) -> str:
        return _("Leads") if self is RecordType.LEAD else _("Opportunities")

    @property
    def plural_lazy(self):
        """`plural` for module-level constants (form choices)."""
        return _l("Leads") if self is RecordType.LEAD else _l("Opportunities")

    @property
    def slug(self) -> str:
        return "leads" if self is RecordType.LEAD else "opportunities"


def record_languages() -> list[str]:
    """The codes a record's `language` may hold (the templates' languages)."""
    from saas.templates_.models import LANGUAGES

    return [code for code, __ in LANGUAGES]


def language_name(code: str | None, locale: str | None = None) -> str:
    """A language's name in the viewer's locale (or `locale`), as Babel gives it."""
    from babel import Locale

    from saas.web.dates import locale as viewer_locale

    if not code:
        return ""
    try:
        return Locale.parse(locale or viewer_locale()).languages.get(code) or code
    except (ValueError, LookupError):  # pragma: no cover - an unknown locale
        return code


LEAD_SOURCES = ["Trade show", "Web", "Referral", "Advertisement", "Partner", "Other"]
LEAD_STATUSES = ["new", "contacted", "qualified", "disqualified"]
OPPORTUNITY_STATUSES = ["open", "won", "lost"]
OPPORTUNITY_STAGES = ["qualify", "develop", "propose", "close"]


class Record(TenantScoped, db.Model):
    __tablename__ = "record"
    __table_args__ = (
        Index("ix_record_created", "tenant_id", "record_type", "created_at", "id"),
        Index("ix_record_updated", "tenant_id", "record_type", "updated_at", "id"),
        Index("ix_record_name", "tenant_id", "record_type", "last_name", "first_name", "id"),
        Index("ix_record_company", "tenant_id", "record_type", "company", "id"),
        Index("ix_record_source", "tenant_id", "record_type", "lead_source", "created_at", "id"),
        Index("ix_record_status", "tenant_id", "record_type", "status", "created_at", "id"),
        Index("ix_record_owner", "tenant_id", "record_type", "owner_id", "created_at", "id"),
        Index("uq_record_email", "tenant_id", "record_type", "email", unique=True,
              postgresql_where=text("email IS NOT NULL"),
              sqlite_where=text("email IS NOT NULL")),
        # PostgreSQL only (migration 266c1b07b361): the search box's trigram index, on the
        # expression of saas.records.fields.search_text(), and custom-field filters by JSONB
        # containment (custom @> ...).
        Index("ix_record_search", text(
            "lower(first_name || ' ' || last_name || ' ' || company || ' ' || coalesce(email, ''))"
            " gin_trgm_ops"), postgresql_using="gin").ddl_if(dialect="postgresql"),
        Index("ix_record_custom", "custom", postgresql_using="gin",
              postgresql_ops={"custom": "jsonb_path_ops"}).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    record_type: Mapped[str] = mapped_column(String(16))
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    linkedin_url: Mapped[str | None] = mapped_column(String(300))
    lead_source: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str | None] = mapped_column(String(32))
    estimated_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    close_date: Mapped[date | None] = mapped_column(Date)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    country: Mapped[str | None] = mapped_column(String(2))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    language: Mapped[str | None] = mapped_column(String(8))  # None: the workspace's language
    custom: Mapped[dict] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow,
                                                 onupdate=utcnow)

    @property
    def kind(self) -> RecordType:
        return RecordType(self.record_type)

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or _("(no name)")


class CustomFieldKind(enum.StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"


class CustomField(TenantScoped, db.Model):
    """A field an admin added to a record type; values live in `record.custom[key]`."""

    __tablename__ = "custom_field"
    __table_args__ = (UniqueConstraint("tenant_id", "record_type", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))
    choices: Mapped[list] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
