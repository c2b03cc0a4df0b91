"""Reassign while away: on the first day of a seller's leave, the colleague who covers takes
their open activities (step runs) and their running connections (enrollments: the activities
that come up meanwhile are the colleague's too); the day after it ends, the ones still open go
back. Each move is recorded (CoverMove), so the way back is exactly the way out.

Every change is compare-and-set: the leave's status (planned -> out -> back), and each row's
seller (a row moves back only while it is still the colleague's, an activity only while still
open: one the colleague completed stays theirs). Enrollments are locked in id order before
their step runs (the engine's one lock order)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update

from saas.admin import audit
from saas.auth.models import User
from saas.engine.lifecycle import lock_in_order
from saas.engine.models import RUNNING_STATUSES, Enrollment, StepRun, StepRunStatus
from saas.engine.sql import id_in
from saas.extensions import db
from saas.sellers.availability import local_today
from saas.sellers.models import CoverMove, CoverStatus, TimeOff
from saas.tenancy import current_tenant_id
from saas.timeutil import utcnow

ACTIVITY, CONNECTION = "activity", "connection"
OPEN = StepRunStatus.OPEN.value


def _claim(leave_id: int, expected: str, new: str, now: datetime, stamp: str) -> bool:
    return db.session.execute(
        update(TimeOff).where(TimeOff.id == leave_id, TimeOff.status == expected)
        .values(status=new, **{stamp: now})).rowcount == 1


def _record(leave: TimeOff, kind: str, ids, from_id: int, to_id: int, now: datetime,
            outcome: str | None = None) -> None:
    rows = [{"tenant_id": current_tenant_id(), "time_off_id": leave.id, "kind": kind,
             "object_id": i, "from_seller_id": from_id, "to_seller_id": to_id, "moved_at": now,
             "outcome": outcome} for i in ids]
    if rows:
        db.session.execute(insert(CoverMove), rows)


def move_out(leave: TimeOff, now: datetime | None = None) -> tuple[int, int]:
    """Hand the seller's open activities and running connections to the colleague; returns
    (activities, connections) moved, (0, 0) if the leave was not planned any more (someone
    else did it). The caller commits."""
    now = now or utcnow()
    seller, colleague = leave.user_id, leave.cover_id
    if colleague is None or not _claim(leave.id, CoverStatus.PLANNED.value,
                                       CoverStatus.OUT.value, now, "moved_out_at"):
        return 0, 0
    held = set(db.session.execute(select(Enrollment.id).where(
        Enrollment.seller_id == seller, Enrollment.status.in_(RUNNING_STATUSES))).scalars())
    held |= set(db.session.execute(select(StepRun.enrollment_id).where(
        StepRun.seller_id == seller, StepRun.status == OPEN)).scalars())
    lock_in_order(sorted(held))
    connections = db.session.execute(
        update(Enrollment).where(Enrollment.seller_id == seller,
                                 Enrollment.status.in_(RUNNING_STATUSES))
        .values(seller_id=colleague).returning(Enrollment.id)
        .execution_options(synchronize_session=False)).scalars().all()
    activities = db.session.execute(
        update(StepRun).where(StepRun.seller_id == seller, StepRun.status == OPEN)
        .values(seller_id=colleague).returning(StepRun.id)
        .execution_options(synchronize_session=False)).scalars().all()
    _record(leave, CONNECTION, connections, seller, colleague, now)
    _record(leave, ACTIVITY, activities, seller, colleague, now)
    audit.record("seller.covered", str(leave.id), seller_id=seller, cover_id=colleague,
                 activities=len(activities), connections=len(connections))
    return len(activities), len(connections)


def move_back(leave: TimeOff, now: datetime | None = None) -> tuple[int, int]:
    """Give the seller back what the colleague still holds of what moved out (connections still
    running, activities still open), and the activities that came up meanwhile on those
    connections and are still open. Returns (activities, connections) moved back."""
    now = now or utcnow()
    if not _claim(leave.id, CoverStatus.OUT.value, CoverStatus.BACK.value, now,
                  "moved_back_at"):
        return 0, 0
    moves = db.session.execute(select(CoverMove.kind, CoverMove.object_id,
                                      CoverMove.from_seller_id, CoverMove.to_seller_id)
                               .where(CoverMove.time_off_id == leave.id,
                                      CoverMove.outcome.is_(None))).all()
    if not moves:
        return 0, 0
    seller, colleague = moves[0].from_seller_id, moves[0].to_seller_id
    connection_ids = sorted(m.object_id for m in moves if m.kind == CONNECTION)
    activity_ids = sorted(m.object_id for m in moves if m.kind == ACTIVITY)
    run_enrollments = set(db.session.execute(select(StepRun.enrollment_id).where(
        id_in(StepRun.id, activity_ids))).scalars()) if activity_ids else set()
    lock_in_order(sorted(set(connection_ids) | run_enrollments))
    returned = db.session.execute(
        update(Enrollment).where(id_in(Enrollment.id, connection_ids),
                                 Enrollment.seller_id == colleague,
                                 Enrollment.status.in_(RUNNING_STATUSES))
        .values(seller_id=seller).returning(Enrollment.id)
        .execution_options(synchronize_session=False)).scalars().all() if connection_ids else []
    back = db.session.execute(
        update(StepRun).where(id_in(StepRun.id, activity_ids), StepRun.seller_id == colleague,
                              StepRun.status == OPEN)
        .values(seller_id=seller).returning(StepRun.id)
        .execution_options(synchronize_session=False)).scalars().all() if activity_ids else []
    arrived = db.session.execute(
        update(StepRun).where(id_in(StepRun.enrollment_id, list(returned)),
                              StepRun.seller_id == colleague, StepRun.status == OPEN)
        .values(seller_id=seller).returning(StepRun.id)
        .execution_options(synchronize_session=False)).scalars().all() if returned else []
    _settle(leave.id, CONNECTION, connection_ids, set(returned))
    _settle(leave.id, ACTIVITY, activity_ids, set(back))
    _record(leave, ACTIVITY, arrived, colleague, seller, now, outcome="back")
    audit.record("seller.cover_ended", str(leave.id), seller_id=seller, cover_id=colleague,
                 activities=len(back) + len(arrived), connections=len(returned))
    return len(back) + len(arrived), len(returned)


def _settle(leave_id: int, kind: str, ids: list[int], returned: set[int]) -> None:
    for outcome, chosen in (("back", sorted(returned)),
                            ("kept", sorted(set(ids) - returned))):
        if chosen:
            db.session.execute(update(CoverMove).where(
                CoverMove.time_off_id == leave_id, CoverMove.kind == kind,
                id_in(CoverMove.object_id, chosen), CoverMove.outcome.is_(None))
                .values(outcome=outcome).execution_options(synchronize_session=False))


def hand_over_due(now: datetime | None = None) -> int:
    """The tenant in context's leaves with a colleague: those whose first day has come (in the
    seller's zone) move out, those that ended move back; returns how many changed."""
    now = now or utcnow()
    rows = db.session.execute(
        select(TimeOff, User).join(User, User.id == TimeOff.user_id)
        .where(TimeOff.cover_id.is_not(None),
               TimeOff.status.in_((CoverStatus.PLANNED.value, CoverStatus.OUT.value)))
        .order_by(TimeOff.id)).all()
    changed = 0
    for leave, seller in rows:
        today = local_today(seller, now)
        if leave.status == CoverStatus.OUT.value and leave.ends_on < today:
            move_back(leave, now)
            changed += 1
        elif leave.status == CoverStatus.PLANNED.value and leave.ends_on < today:
            changed += _claim(leave.id, CoverStatus.PLANNED.value, CoverStatus.BACK.value, now,
                              "moved_back_at")
        elif leave.status == CoverStatus.PLANNED.value and leave.starts_on <= today:
            move_out(leave, now)
            changed += 1
    return changed


def summaries(leave_ids: list[int]) -> dict[int, dict[str, int]]:
    """What moved out for each leave (one query): activities, connections, and of the
    activities those the colleague finished (kept) and those that went back."""
    found = {i: {ACTIVITY: 0, CONNECTION: 0, "kept": 0, "back": 0} for i in leave_ids}
    if not leave_ids:
        return found
    rows = db.session.execute(
        select(CoverMove.time_off_id, CoverMove.kind, CoverMove.outcome, func.count())
        .join(TimeOff, TimeOff.id == CoverMove.time_off_id)
        .where(CoverMove.time_off_id.in_(leave_ids),
               CoverMove.from_seller_id == TimeOff.user_id)  # out, not what arrived meanwhile
        .group_by(CoverMove.time_off_id, CoverMove.kind, CoverMove.outcome))
    for leave_id, kind, outcome, count in rows:
        found[leave_id][kind] += count
        if kind == ACTIVITY and outcome:
            found[leave_id][outcome] += count
    return found
