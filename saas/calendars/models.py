"""A tenant's calendar: its working week (days and hours, in the tenant's time zone) and its
closure days. A tenant with no `calendar` row works Monday to Friday, 09:00-17:00."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from saas.extensions import db
from saas.tenancy import TenantScoped
from saas.timeutil import UtcDateTime, utcnow

DEFAULT_DAYS = "01234"  # Monday (0) to Friday (4), as Python's date.weekday() counts
DEFAULT_START = "09:00"
DEFAULT_END = "17:00"


class Calendar(TenantScoped, db.Model):
    """The tenant's working week (one row at most per tenant)."""

    __tablename__ = "calendar"
    __table_args__ = (Index("uq_calendar_tenant", "tenant_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    working_days: Mapped[str] = mapped_column(String(7), default=DEFAULT_DAYS)  # "01234"
    day_start: Mapped[str] = mapped_column(String(5), default=DEFAULT_START)  # "HH:MM"
    day_end: Mapped[str] = mapped_column(String(5), default=DEFAULT_END)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ClosureDay(TenantScoped, db.Model):
    """A day the tenant does not work (a public holiday, a company day off)."""

    __tablename__ = "closure_day"
    __table_args__ = (Index("uq_closure_day", "tenant_id", "day", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
