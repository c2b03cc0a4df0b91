"""The seller's actions on a step run: complete, skip, snooze an activity, skip a wait.

Each locks the enrollment, then the step run (the one lock order), refuses one that is not in
the expected state (a double submit returns False and changes nothing), moves the enrollment on
with advance() and does NOT commit: the calling service commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from saas.engine import clock
from saas.engine.advance import advance
from saas.engine.models import Enrollment, EnrollmentStatus, StepRun, StepRunStatus
from saas.extensions import db
from saas.sequences.models import Sequence, StepType
from saas.signals import steps_completed
from saas.timeutil import aware


def _lock(step_run_id: int, status: str) -> tuple[StepRun, Enrollment] | None:
    """The run and its active enrollment, both locked in the one lock order (the enrollment
    first, then the run), or None when either is no longer in the expected state."""
    enrollment_id = db.session.execute(
        select(StepRun.enrollment_id).where(StepRun.id == step_run_id)).scalar_one_or_none()
    if enrollment_id is None:
        return None
    enrollment = db.session.execute(
        select(Enrollment).where(Enrollment.id == enrollment_id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one_or_none()
    if enrollment is None or enrollment.status != EnrollmentStatus.ACTIVE.value:
        return None
    run = db.session.execute(
        select(StepRun).where(StepRun.id == step_run_id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one_or_none()
    if run is None or run.status != status:
        return None
    return run, enrollment


def complete_activity(step_run_id: int, user_id: int | None, *, outcome: str | None = None,
                      notes: str | None = None) -> bool:
    locked = _lock(step_run_id, StepRunStatus.OPEN.value)
    if locked is None:
        return False
    run, enrollment = locked
    now = clock.now()
    run.status = StepRunStatus.COMPLETED.value
    run.started_at = run.started_at or now
    run.completed_at = now
    run.completed_by_id = user_id
    run.outcome = outcome or "done"
    if notes is not None:
        run.notes = notes
    steps_completed.send(None, step_run_ids=[run.id])
    advance(enrollment, run, now=now)
    return True


def skip_activity(step_run_id: int, user_id: int | None, *, reason: str | None = None) -> bool:
    """Skipped: the sequence goes on (a following email condition takes No)."""
    locked = _lock(step_run_id, StepRunStatus.OPEN.value)
    if locked is None:
        return False
    run, enrollment = locked
    now = clock.now()
    run.status = StepRunStatus.SKIPPED.value
    run.completed_at = now
    run.completed_by_id = user_id
    run.outcome = "skipped"
    if reason:
        run.notes = reason
    advance(enrollment, run, now=now)
    return True


def snooze_activity(step_run_id: int, user_id: int | None, until: datetime) -> bool:
    """Hide the activity from the worklist until `until` (it stays open and due)."""
    locked = _lock(step_run_id, StepRunStatus.OPEN.value)
    if locked is None:
        return False
    run, _ = locked
    until = aware(until)
    if until is None or until <= clock.now():
        return False
    run.snoozed_until = until
    return True


def skip_wait(step_run_id: int, user_id: int | None) -> bool:
    """End a wait now, when the sequence allows it."""
    locked = _lock(step_run_id, StepRunStatus.WAITING.value)
    if locked is None:
        return False
    run, enrollment = locked
    if run.step_type != StepType.WAIT.value:
        return False
    settings = db.session.execute(
        select(Sequence.settings).where(Sequence.id == enrollment.sequence_id)).scalar() or {}
    if not settings.get("allow_skip_wait"):
        return False
    now = clock.now()
    run.status = StepRunStatus.COMPLETED.value
    run.completed_at = now
    run.completed_by_id = user_id
    run.outcome = "wait_skipped"
    steps_completed.send(None, step_run_ids=[run.id])
    advance(enrollment, run, now=now)
    return True


def reassign_activity(step_run_id: int, seller_id: int) -> bool:
    """Give the open activity, and the connection it belongs to (so its next activities follow),
    to another seller. False when the activity is no longer open or already theirs."""
    locked = _lock(step_run_id, StepRunStatus.OPEN.value)
    if locked is None:
        return False
    run, enrollment = locked
    if run.seller_id == seller_id:
        return False
    run.seller_id = seller_id
    enrollment.seller_id = seller_id
    return True
