"""Records waiting for a seller: why (shown where managers look: the record page, a sequence's
connected records, the connect job's line), and the periodic task that assigns them once a
seller is back or has room, starting their connections that waited for a seller too.

The periodic task also hands a seller's activities to the colleague who covers them on the first
day of their leave, and back the day after it ends (saas.sellers.cover)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import func, select

from saas.engine.connect import assign_seller
from saas.engine.lifecycle import lock_in_order
from saas.engine.models import Enrollment, EnrollmentStatus
from saas.engine.sql import id_in
from saas.extensions import db, get_redis
from saas.i18n import _
from saas.records.models import Record
from saas.segments.assignment import assign_records
from saas.segments.models import AssignmentRule, AssignmentWait, WaitReason
from saas.sellers import cover
from saas.sellers.models import CoverStatus, TimeOff
from saas.tenancy import tenant_context
from saas.timeutil import utcnow

log = logging.getLogger(__name__)
CHECK_KEY = "saas:sellers:check"
CHECK_SECONDS = 60  # how often the periodic task looks again (one worker's turn, via Redis)


def reason_text(reason: str, rule: str | None) -> str:
    """The sentence a manager reads next to a record waiting for a seller."""
    rule = rule or _("this rule")
    if reason == WaitReason.AWAY.value:
        return _("Waiting for a seller: everyone in “%(rule)s” is away.", rule=rule)
    if reason == WaitReason.FULL.value:
        return _("Waiting for a seller: everyone in “%(rule)s” is full.", rule=rule)
    return _("Waiting for a seller: everyone in “%(rule)s” is away or full.", rule=rule)


def reasons_for(record_ids: Iterable[int]) -> dict[int, str]:
    """Each waiting record's reason, for a page of records (one query)."""
    ids = sorted({int(i) for i in record_ids if i})
    if not ids:
        return {}
    rows = db.session.execute(
        select(AssignmentWait.record_id, AssignmentWait.reason, AssignmentRule.name)
        .outerjoin(AssignmentRule, AssignmentRule.id == AssignmentWait.rule_id)
        .where(id_in(AssignmentWait.record_id, ids))).all()
    return {row.record_id: reason_text(row.reason, row.name) for row in rows}


def reason_for_segment(segment_id: int | None) -> tuple[int, str] | None:
    """How many of a segment's records wait, and the most common reason (a connect job's line)."""
    if not segment_id:
        return None
    row = db.session.execute(
        select(func.count(), AssignmentWait.reason, AssignmentRule.name)
        .outerjoin(AssignmentRule, AssignmentRule.id == AssignmentWait.rule_id)
        .where(AssignmentWait.segment_id == segment_id)
        .group_by(AssignmentWait.reason, AssignmentRule.name)
        .order_by(func.count().desc()).limit(1)).first()
    return (row[0], reason_text(row[1], row[2])) if row else None


def assign_waiting() -> int:
    """The tenant in context's waiting records, offered to their segment's rules again; those
    that get an owner start their connections that waited for a seller. Returns how many got
    an owner. The caller commits."""
    rows = db.session.execute(select(AssignmentWait.segment_id, AssignmentWait.record_id)
                              .order_by(AssignmentWait.segment_id, AssignmentWait.record_id)).all()
    by_segment: dict[int, list[int]] = {}
    for segment_id, record_id in rows:
        by_segment.setdefault(segment_id, []).append(record_id)
    assigned = 0
    for segment_id, ids in by_segment.items():
        assigned += assign_records(segment_id, ids)
    if assigned:
        start_waiting_connections([record_id for __, record_id in rows])
    return assigned


def start_waiting_connections(record_ids: list[int]) -> int:
    """Connections of these records that wait for a seller, now that the record has an owner,
    take the owner and start (locked in id order first: the one lock order)."""
    owners = dict(db.session.execute(select(Record.id, Record.owner_id).where(
        id_in(Record.id, record_ids), Record.owner_id.is_not(None))).all())
    if not owners:
        return 0
    ids = db.session.execute(select(Enrollment.id).where(
        id_in(Enrollment.record_id, list(owners)), Enrollment.seller_id.is_(None),
        Enrollment.status == EnrollmentStatus.ACTIVE.value).order_by(Enrollment.id)
    ).scalars().all()
    if not ids:
        return 0
    lock_in_order(list(ids))
    waiting = db.session.execute(
        select(Enrollment).where(id_in(Enrollment.id, list(ids)), Enrollment.seller_id.is_(None),
                                 Enrollment.status == EnrollmentStatus.ACTIVE.value)
        .order_by(Enrollment.id).execution_options(populate_existing=True)).scalars().all()
    for enrollment in waiting:
        assign_seller(enrollment, owners[enrollment.record_id])
    return len(waiting)


def run_tenant(now: datetime | None = None) -> int:
    """Everything the periodic task does for the tenant in context; the caller commits."""
    now = now or utcnow()
    cover.hand_over_due(now)
    return assign_waiting()


def periodic(now: datetime | None = None, force: bool = False) -> int:
    """The periodic task (at most every CHECK_SECONDS, whatever the number of workers): each
    tenant with records waiting for a seller, or a leave to hand over or back, in its own
    transaction. Returns how many records got an owner."""
    if not force:
        try:
            if not get_redis().set(CHECK_KEY, "1", nx=True, ex=CHECK_SECONDS):
                return 0
        except RedisError:
            log.warning("sellers: could not take the periodic check's turn", exc_info=True)
            return 0
    now = now or utcnow()
    soon = now.date() + timedelta(days=1)
    tenants = set(db.session.execute(select(AssignmentWait.tenant_id).distinct()
                                     .execution_options(all_tenants=True)).scalars())
    tenants |= set(db.session.execute(
        select(TimeOff.tenant_id).where(cover_due_clause(), TimeOff.starts_on <= soon).distinct()
        .execution_options(all_tenants=True)).scalars())
    db.session.rollback()
    assigned = 0
    for tenant_id in sorted(tenants):
        with tenant_context(tenant_id):
            try:
                assigned += run_tenant(now)
                db.session.commit()
            except Exception:  # noqa: BLE001 - one tenant's failure never stops another's
                db.session.rollback()
                log.exception("sellers' periodic task failed for tenant %s", tenant_id)
    return assigned


def cover_due_clause():
    """The partial index's condition (models.COVERED), as a clause."""
    return TimeOff.cover_id.is_not(None) & TimeOff.status.in_(
        (CoverStatus.PLANNED.value, CoverStatus.OUT.value))
