"""A seller's time off, and the activities and connections a colleague covers meanwhile."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from saas.extensions import db
from saas.records.models import BigId
from saas.tenancy import TenantScoped
from saas.timeutil import UtcDateTime, utcnow


class CoverStatus(enum.StrEnum):
    PLANNED = "planned"  # the leave has not started (or nobody covers)
    OUT = "out"          # the colleague holds the seller's open activities
    BACK = "back"        # the ones still open went back when the leave ended


COVERED = "cover_id IS NOT NULL AND status IN ('planned', 'out')"


class TimeOff(TenantScoped, db.Model):
    """Days a seller is away, both included, in the seller's own time zone. Assignment rules
    skip them; with `cover_id`, that colleague works their open activities meanwhile."""

    __tablename__ = "seller_time_off"
    __table_args__ = (
        Index("ix_seller_time_off_user", "tenant_id", "user_id", "ends_on"),
        Index("ix_seller_time_off_cover", "tenant_id", "cover_id"),
        # The periodic hand-over: leaves with a colleague not yet back, by start.
        Index("ix_seller_time_off_due", "tenant_id", "starts_on",
              postgresql_where=text(COVERED), sqlite_where=text(COVERED)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")
    cover_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(8), default=CoverStatus.PLANNED.value)
    moved_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    moved_back_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CoverMove(TenantScoped, db.Model):
    """One activity (a step run) or connection (an enrollment) handed to the colleague for a
    leave: what moved, from whom to whom, and how it ended (back, or kept because the colleague
    finished it), so the way back is exactly the way out."""

    __tablename__ = "seller_cover_move"
    __table_args__ = (Index("ix_seller_cover_move_time_off", "tenant_id", "time_off_id",
                            "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    time_off_id: Mapped[int] = mapped_column(
        ForeignKey("seller_time_off.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))  # activity | connection
    object_id: Mapped[int] = mapped_column(BigInteger)
    from_seller_id: Mapped[int] = mapped_column(Integer)
    to_seller_id: Mapped[int] = mapped_column(Integer)
    moved_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    outcome: Mapped[str | None] = mapped_column(String(8))  # back | kept
