"""Segments (live rule-based lists of records), their members and events, assignment rules."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from saas.extensions import db
from saas.records.models import BigId
from saas.tenancy import TenantScoped
from saas.timeutil import UtcDateTime, utcnow


class SegmentStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    INACTIVE = "inactive"


class Segment(TenantScoped, db.Model):
    __tablename__ = "segment"
    __table_args__ = (Index("ix_segment_tenant_type_status", "tenant_id", "record_type",
                            "status", "priority"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    record_type: Mapped[str] = mapped_column(String(16))
    rules: Mapped[dict] = mapped_column(JSON, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=SegmentStatus.DRAFT.value)
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    evaluated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow,
                                                 onupdate=utcnow)


class SegmentMember(TenantScoped, db.Model):
    __tablename__ = "segment_member"
    __table_args__ = (
        UniqueConstraint("segment_id", "record_id"),
        Index("ix_segment_member_record", "tenant_id", "record_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"))
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SegmentEvent(TenantScoped, db.Model):
    """A record joined or left a segment; the sequence engine consumes `joined` events."""

    __tablename__ = "segment_event"
    __table_args__ = (
        Index("ix_segment_event_segment", "tenant_id", "segment_id", "id"),
        Index("ix_segment_event_pending_tenant", "tenant_id", "id",
              postgresql_where=text("consumed_at IS NULL"),
              sqlite_where=text("consumed_at IS NULL")),
        # Retention (saas/admin/retention.py): consumed events by age, per tenant.
        Index("ix_segment_event_consumed", "tenant_id", "consumed_at",
              postgresql_where=text("consumed_at IS NOT NULL"),
              sqlite_where=text("consumed_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # joined | left
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    consumed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Distribution(enum.StrEnum):
    ROUND_ROBIN = "round_robin"
    LOAD_BALANCING = "load_balancing"


class SellerTarget(enum.StrEnum):
    ANY = "any"
    SPECIFIC = "specific"
    MATCHING = "matching"   # sellers whose attribute equals the record's


class AssignmentRule(TenantScoped, db.Model):
    __tablename__ = "assignment_rule"
    __table_args__ = (Index("ix_assignment_rule_segment", "tenant_id", "segment_id",
                            "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    conditions: Mapped[dict] = mapped_column(JSON, default=dict)  # same shape as Segment.rules
    target: Mapped[str] = mapped_column(String(16), default=SellerTarget.ANY.value)
    seller_ids: Mapped[list] = mapped_column(JSON, default=list)
    match_attribute: Mapped[str | None] = mapped_column(String(32))  # e.g. "country"
    distribution: Mapped[str] = mapped_column(String(16),
                                              default=Distribution.ROUND_ROBIN.value)
    created_within_hours: Mapped[int | None] = mapped_column(Integer)
    last_assigned_user_id: Mapped[int | None] = mapped_column(Integer)


class AssignmentLog(TenantScoped, db.Model):
    __tablename__ = "assignment_log"
    __table_args__ = (Index("ix_assignment_log_record", "tenant_id", "record_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"))
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segment.id",
                                                              ondelete="SET NULL"))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("assignment_rule.id",
                                                           ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id",
                                                           ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class WaitReason(enum.StrEnum):
    AWAY = "away"            # every seller the rule names is away
    FULL = "full"            # every one holds their capacity of open records
    AWAY_OR_FULL = "away_or_full"


class AssignmentWait(TenantScoped, db.Model):
    """An unowned record a rule matched while every seller it names was away or full: it waits
    here, with the reason, until one comes back or frees capacity (saas.sellers.waiting)."""

    __tablename__ = "assignment_wait"
    __table_args__ = (
        Index("uq_assignment_wait_record", "tenant_id", "record_id", unique=True),
        Index("ix_assignment_wait_segment", "tenant_id", "segment_id", "record_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"))
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("assignment_rule.id",
                                                           ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
