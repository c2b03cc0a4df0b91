"""advance(): the one function that moves an enrollment on.

Given what just finished (`after_step_run`, already marked completed/skipped by the caller, or
None to start) and the branch taken after a condition, it writes the next step run with its due
time, or decides at once what needs no waiting (call and field conditions, commands) and goes on,
or completes the enrollment at the end of its branch. It runs in the caller's transaction and
never commits. The tick's bulk path (saas/engine/bulk.py) does the same for many enrollments at
once with set-based SQL and falls back to this function for the steps that need a record each.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from saas.engine import clock
from saas.engine.abtests import version_for
from saas.engine.conditions import call_decision, email_decisions, field_decision
from saas.engine.enroll import ConnectRefused, enroll_record
from saas.engine.graph import StepGraph, StepInfo, load_graph
from saas.engine.lifecycle import end_enrollment
from saas.engine.models import RUNNING_STATUSES, Enrollment, EnrollmentStatus, StepRun
from saas.engine.reasons import MOVE_INTO_ITSELF
from saas.engine.windows import add_wait
from saas.engine.working_time import WorkingTime, activity_due, for_settings, send_due
from saas.extensions import db
from saas.records.models import Record
from saas.sequences.models import Sequence, StepType

MAX_HOPS = 200  # a tree is finite; this only guards against a corrupted one


def choose_ab_version(step: StepInfo, record_id: int) -> str:
    return version_for(step, record_id)


def acting_type(step: StepInfo, ab_version: str | None = None) -> str:
    """The type a step acts as (an A/B step acts as its version's type)."""
    if step.type == StepType.AB_TEST.value and ab_version:
        versions = (step.config or {}).get("versions") or {}
        return (versions.get(ab_version) or {}).get("type") or StepType.EMAIL.value
    return step.type


def wait_parts(step: StepInfo) -> tuple[int, int]:
    """(days, hours) of a wait or an email condition's time limit (one hour when empty)."""
    config = step.config or {}
    if step.type == StepType.EMAIL_CONDITION.value:
        days, hours = config.get("limit_days", 0), config.get("limit_hours", 0)
    else:
        days, hours = config.get("days", 0), config.get("hours", 0)
    days, hours = int(days or 0), int(hours or 0)
    return (days, hours) if days or hours else (0, 1)


def wait_due(step: StepInfo, start: datetime, tz: str | None,
             working: WorkingTime | None = None) -> datetime:
    """When a wait (or an email condition's time limit) started at `start` ends: in calendar
    time in the record's zone, or in the tenant's working time when `working` is given."""
    days, hours = wait_parts(step)
    if working is not None:
        return working.add(start, days=days, hours=hours)
    return add_wait(start, tz, days=days, hours=hours)


class _Context:
    """What advance() needs to know about the record and the sequence, loaded once."""

    def __init__(self, enrollment: Enrollment):
        self.enrollment = enrollment
        self._record = None
        self._sequence = None
        self._working: tuple[WorkingTime | None] | None = None

    @property
    def record(self) -> Record:
        if self._record is None:
            self._record = db.session.execute(
                select(Record).where(Record.id == self.enrollment.record_id)).scalar_one()
        return self._record

    @property
    def sequence(self) -> Sequence:
        if self._sequence is None:
            self._sequence = db.session.execute(
                select(Sequence).where(Sequence.id == self.enrollment.sequence_id)).scalar_one()
        return self._sequence

    @property
    def working(self) -> WorkingTime | None:
        """The tenant's calendar when the sequence counts waits in working time, else None."""
        if self._working is None:
            self._working = (for_settings(self.sequence.settings),)
        return self._working[0]


def _run(enrollment: Enrollment, step: StepInfo, status: str, now: datetime, *,
         due_at: datetime | None = None, step_type: str | None = None, **values) -> StepRun:
    due_at = due_at or now
    held = enrollment.status == EnrollmentStatus.PAUSED.value and status in ("waiting", "pending")
    run = StepRun(enrollment_id=enrollment.id, step_id=step.id,
                  sequence_id=enrollment.sequence_id, record_id=enrollment.record_id,
                  seller_id=enrollment.seller_id, step_type=step_type or step.type,
                  status=status, due_at=None if held else due_at,
                  held_due_at=due_at if held else None, created_at=now, **values)
    db.session.add(run)
    enrollment.current_step_id = step.id
    return run


def _decided(enrollment: Enrollment, step: StepInfo, outcome: str, now: datetime,
             **values) -> StepRun:
    run = _run(enrollment, step, "completed", now, started_at=now, completed_at=now,
               outcome=outcome, **values)
    enrollment.steps_done = (enrollment.steps_done or 0) + 1
    return run


def advance(enrollment: Enrollment, after_step_run: StepRun | None = None, *,
            branch: str | None = None, now: datetime | None = None,
            graph: StepGraph | None = None) -> StepRun | None:
    """Move `enrollment` on past `after_step_run` (None: start it); returns the step run that
    now waits for something (activity, time, send, event), or None when the enrollment ended."""
    return advance_from(enrollment, after_step_run.step_id if after_step_run else None,
                        branch=branch, now=now, graph=graph, counted=after_step_run is not None)


def advance_from(enrollment: Enrollment, step_id: int | None, *, branch: str | None = None,
                 now: datetime | None = None, graph: StepGraph | None = None,
                 counted: bool = True) -> StepRun | None:
    """advance() by step id (the bulk path's fallback); `counted`: the step before counts as
    done."""
    if enrollment.status not in RUNNING_STATUSES:  # a paused one keeps its live step run
        return None
    now = now or clock.now()
    graph = graph or load_graph(enrollment.sequence_id)
    ctx = _Context(enrollment)
    if counted and step_id is not None:
        enrollment.steps_done = (enrollment.steps_done or 0) + 1
    step = graph.next_step(step_id, branch)
    for _ in range(MAX_HOPS):
        if step is None:
            db.session.flush()
            end_enrollment(enrollment, EnrollmentStatus.COMPLETED.value, None, now)
            return None
        kind = StepType(step.type)
        ab_version = None
        if kind is StepType.AB_TEST:
            ab_version = choose_ab_version(step, enrollment.record_id)
            kind = StepType(acting_type(step, ab_version))
        if kind.is_manual:
            return _run(enrollment, step, "open", now, step_type=kind.value,
                        ab_version=ab_version, due_at=activity_due(now, ctx.working))
        if kind is StepType.WAIT:
            return _run(enrollment, step, "waiting", now, started_at=now,
                        due_at=wait_due(step, now, ctx.record.time_zone, ctx.working))
        if kind.is_automated_send:
            due = send_due(now, ctx.record.time_zone,
                           (ctx.sequence.settings or {}).get("window"), ctx.working)
            return _run(enrollment, step, "pending", now, due_at=due, step_type=kind.value,
                        ab_version=ab_version)
        if kind is StepType.EMAIL_CONDITION:
            db.session.flush()
            decision = email_decisions(graph, step, [enrollment.id], timed_out=False)
            outcome = decision[enrollment.id]
            if outcome is None:
                return _run(enrollment, step, "waiting", now, started_at=now,
                            due_at=wait_due(step, now, ctx.record.time_zone, ctx.working))
            # due at its time limit, as the batch path writes it before deciding
            _decided(enrollment, step, outcome, now,
                     due_at=wait_due(step, now, ctx.record.time_zone, ctx.working))
            step = graph.first(step.id, outcome)
            continue
        if kind in (StepType.CALL_CONDITION, StepType.FIELD_CONDITION):
            db.session.flush()
            if kind is StepType.CALL_CONDITION:
                outcome = call_decision(graph, step, enrollment.id)
            else:
                outcome = field_decision(step, enrollment.record_id, ctx.record.record_type)
            _decided(enrollment, step, outcome, now)
            step = graph.first(step.id, outcome)
            continue
        if kind is StepType.UPDATE_FIELD:
            error = _update_field(ctx, step)
            _decided(enrollment, step, "failed" if error else "done", now, error=error)
            if error is None and ctx.enrollment.status not in RUNNING_STATUSES:
                return None  # the update itself ended the enrollment (e.g. disqualified)
            step = graph.after(step.id)
            continue
        if kind is StepType.MOVE_TO_SEQUENCE:
            return _move(ctx, step, now)
        step = graph.after(step.id)  # an unknown type is passed over, never a dead end
    raise RuntimeError(f"sequence {enrollment.sequence_id}: too many steps decided at once")


def _update_field(ctx: _Context, step: StepInfo) -> str | None:
    from saas.errors import ServiceError
    from saas.i18n import speaking
    from saas.records.services import set_field

    config = step.config or {}
    try:
        with speaking("en"):  # the refusal is stored language-neutral (saas/engine/reasons.py)
            set_field(ctx.enrollment.record_id, str(config.get("field") or ""),
                      str(config.get("value") or ""))
    except ServiceError as exc:
        return str(exc)
    return None


def _move(ctx: _Context, step: StepInfo, now: datetime) -> None:
    from saas.i18n import speaking

    enrollment = ctx.enrollment
    error = None
    target = (step.config or {}).get("sequence_id")
    run = _decided(enrollment, step, "moved", now)
    db.session.flush()
    end_enrollment(enrollment, EnrollmentStatus.COMPLETED.value, "moved", now)
    try:
        if int(target or 0) == enrollment.lineage_id:
            raise ConnectRefused(MOVE_INTO_ITSELF)
        with speaking("en"):  # a refusal is stored language-neutral (saas/engine/reasons.py)
            moved = enroll_record(ctx.record, int(target or 0), seller_id=enrollment.seller_id,
                                  source="move", now=now)
            if moved.seller_id is not None:  # started here, as connect_record would
                advance(moved, now=now)
    except ConnectRefused as exc:
        error = str(exc)
    if error:
        db.session.execute(
            StepRun.__table__.update().where(StepRun.__table__.c.id == run.id)
            .values(outcome="failed", error=error))
    return None
