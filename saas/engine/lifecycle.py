"""How enrollments end: completed, exited (with a reason) or disconnected. Every step run still
open, waiting or pending is cancelled in the same statement batch, so an ended enrollment never
gets another step (the tick only claims runs of active enrollments, and these are no longer due)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update

from saas.engine import clock
from saas.engine.models import RUNNING_STATUSES, Enrollment, EnrollmentStatus, StepRun
from saas.engine.sql import id_in
from saas.extensions import db
from saas.messaging.models import MessageEvent
from saas.signals import enrollments_ended
from saas.tenancy import current_tenant_id

LIVE_RUN_STATUSES = ("open", "waiting", "pending")
CHUNK = 5000


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def cancel_runs(enrollment_ids: Iterable[int], now: datetime) -> int:
    cancelled = 0
    for chunk in _chunks(sorted(set(enrollment_ids))):
        cancelled += db.session.execute(
            update(StepRun).where(id_in(StepRun.enrollment_id, chunk),
                                  StepRun.status.in_(LIVE_RUN_STATUSES))
            .values(status="cancelled", completed_at=now)
            .execution_options(synchronize_session=False)).rowcount
    return cancelled


def hold_runs(enrollment_ids: Iterable[int]) -> int:
    """Paused: the enrollments' waiting and pending runs leave the tick's due index, their due
    time kept aside (StepRun.held_due_at). The caller holds the enrollments and commits."""
    held = 0
    for chunk in _chunks(sorted(set(enrollment_ids))):
        held += db.session.execute(
            update(StepRun).where(id_in(StepRun.enrollment_id, chunk),
                                  StepRun.status.in_(("waiting", "pending")),
                                  StepRun.due_at.is_not(None))
            .values(held_due_at=StepRun.due_at, due_at=None)
            .execution_options(synchronize_session=False)).rowcount
    return held


def release_runs(enrollment_ids: Iterable[int]) -> int:
    """Resumed: the held runs are due again at their own time (overdue ones at the next tick)."""
    released = 0
    for chunk in _chunks(sorted(set(enrollment_ids))):
        released += db.session.execute(
            update(StepRun).where(id_in(StepRun.enrollment_id, chunk),
                                  StepRun.held_due_at.is_not(None))
            .values(due_at=StepRun.held_due_at, held_due_at=None)
            .execution_options(synchronize_session=False)).rowcount
    return released


def lock_in_order(enrollment_ids: list[int]) -> None:
    """Lock enrollments in id order before a multi-row change (the one lock order), so two
    changes of overlapping sets wait for each other instead of deadlocking."""
    if enrollment_ids and db.engine.dialect.name != "sqlite":
        db.session.execute(select(Enrollment.id).where(id_in(Enrollment.id, enrollment_ids))
                           .order_by(Enrollment.id).with_for_update())


def end_enrollments(enrollment_ids: Iterable[int], status: str, reason: str | None = None,
                    now: datetime | None = None) -> int:
    """End these running enrollments (status completed/exited/disconnected) and cancel their
    live step runs; returns how many ended. The caller commits."""
    now = now or clock.now()
    ids = sorted(set(enrollment_ids))
    ended: list[int] = []
    for chunk in _chunks(ids):
        lock_in_order(chunk)
        ended += db.session.execute(
            update(Enrollment).where(id_in(Enrollment.id, chunk),
                                     Enrollment.status.in_(RUNNING_STATUSES))
            .values(status=status, exit_reason=reason, ended_at=now, updated_at=now)
            .returning(Enrollment.id)
            .execution_options(synchronize_session=False)).scalars().all()
    cancel_runs(ended, now)
    _refresh(ended)
    if ended:
        enrollments_ended.send(None, enrollment_ids=ended, at=now)
    return len(ended)


def end_enrollment(enrollment: Enrollment, status: str, reason: str | None = None,
                   now: datetime | None = None) -> bool:
    return end_enrollments([enrollment.id], status, reason, now) == 1


def exit_for_records(record_ids: Iterable[int], reason: str) -> int:
    """Exit every running enrollment of these records (disqualified, ...)."""
    ids = sorted(set(record_ids))
    enrollment_ids: list[int] = []
    for chunk in _chunks(ids):
        enrollment_ids += db.session.execute(
            select(Enrollment.id).where(id_in(Enrollment.record_id, chunk),
                                        Enrollment.status.in_(RUNNING_STATUSES))).scalars().all()
    return end_enrollments(enrollment_ids, EnrollmentStatus.EXITED.value, reason)


def exit_deleted_records(record_ids: list[int]) -> int:
    """Records about to be deleted (the caller holds them FOR UPDATE): their running enrollments
    exit ("record_deleted"); their step runs lose the seller's notes, and their messages' events
    the address and what the person wrote or clicked (replies' text), keeping their kind and time
    for the sequence's figures. A connect holds the records it writes FOR KEY SHARE (the
    foreign key) until it commits, so every connection is seen here, and none can be made from
    now on."""
    tenant_id = current_tenant_id()
    running: list[int] = []
    for chunk in _chunks(sorted(record_ids)):
        running += db.session.execute(select(Enrollment.id).where(
            id_in(Enrollment.record_id, chunk),
            Enrollment.status.in_(RUNNING_STATUSES))).scalars().all()
        db.session.execute(update(StepRun).where(StepRun.tenant_id == tenant_id,
                                                 id_in(StepRun.record_id, chunk),
                                                 StepRun.notes.is_not(None))
                           .values(notes=None).execution_options(synchronize_session=False))
        runs = select(StepRun.id).where(StepRun.tenant_id == tenant_id,
                                        id_in(StepRun.record_id, chunk))
        db.session.execute(update(MessageEvent).where(MessageEvent.step_run_id.in_(runs))
                           .values(address=None, url=None, data={})
                           .execution_options(synchronize_session=False))
    return end_enrollments(running, EnrollmentStatus.EXITED.value, "record_deleted")


def _refresh(enrollment_ids: list[int]) -> None:
    """Objects already in the session see the new status on their next access."""
    if not enrollment_ids:
        return
    wanted = set(enrollment_ids)
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Enrollment) and obj.id in wanted:
            db.session.expire(obj)
        elif isinstance(obj, StepRun) and obj.enrollment_id in wanted:
            db.session.expire(obj)
