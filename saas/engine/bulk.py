"""advance() for many enrollments at once, in set-based SQL.

All the enrollments of a group stand at the same step of the same version and take the same
branch, so they all reach the same next step: one INSERT ... SELECT writes their step runs and one
UPDATE moves the enrollments. Steps whose due time depends on the recipient's time zone (windows,
waits in days) are written per distinct zone. Steps that need each record on its own (A/B choice,
call and field conditions, commands) go through advance_from() one enrollment at a time, in the
same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import DateTime, Integer, String, func, insert, literal, null, select, true, update

from saas.engine.advance import advance_from, wait_due, wait_parts
from saas.engine.conditions import email_decisions
from saas.engine.graph import StepGraph, StepInfo
from saas.engine.models import Enrollment, EnrollmentStatus, StepRun
from saas.engine.sql import id_in
from saas.engine.windows import next_opening
from saas.extensions import db
from saas.records.models import Record
from saas.sequences.models import Sequence, StepType

CHUNK = 20000
ACTIVE = EnrollmentStatus.ACTIVE.value
RUN_COLUMNS = ["tenant_id", "enrollment_id", "step_id", "sequence_id", "record_id", "seller_id",
               "step_type", "status", "due_at", "created_at", "started_at", "attempts"]


def chunks(ids: list[int], size: int = CHUNK) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _settings(sequence_id: int) -> dict:
    return db.session.execute(
        select(Sequence.settings).where(Sequence.id == sequence_id)).scalar() or {}


def _zones(ids: list[int]) -> list[str]:
    return list(db.session.execute(
        select(Record.time_zone).join(Enrollment, Enrollment.record_id == Record.id)
        .where(id_in(Enrollment.id, ids)).distinct()).scalars())


def _insert_runs(ids: list[int], step: StepInfo, status: str, due_at: datetime, now: datetime, *,
                 zone: str | None = None, started: bool = False,
                 outcome: str | None = None, error: str | None = None,
                 local_wait: tuple[int, int] | None = None) -> None:
    e = Enrollment
    stamp = literal(now, DateTime(timezone=True))
    columns = list(RUN_COLUMNS)
    values = [e.tenant_id, e.id, literal(step.id, Integer), e.sequence_id, e.record_id,
              e.seller_id, literal(step.type, String), literal(status, String),
              literal(due_at, DateTime(timezone=True)), stamp, stamp if started else null(),
              literal(0, Integer)]
    if outcome is not None:  # decided at once: completed now
        columns += ["completed_at", "outcome", "error"]
        values += [stamp, literal(outcome, String), literal(error, String)]
    if local_wait is not None:  # days in the recipient's calendar, hours elapsed (in SQL)
        days, hours = local_wait
        zone_name = func.coalesce(Record.time_zone, "UTC")
        start = literal(now, DateTime(timezone=True))
        values[8] = func.timezone(zone_name, func.timezone(zone_name, start)
                                  + func.make_interval(0, 0, 0, days)) \
            + func.make_interval(0, 0, 0, 0, hours)
    source = select(*values).where(id_in(e.id, ids), e.status == ACTIVE)
    if local_wait is not None:
        source = source.join(Record, Record.id == e.record_id)
    if zone is not None:
        source = source.join(Record, Record.id == e.record_id).where(Record.time_zone == zone)
    db.session.execute(insert(StepRun).from_select(columns, source))


def _insert_and_move(ids: list[int], step: StepInfo, status: str, due_at: datetime,
                     now: datetime, counted: bool, *, started: bool = False,
                     local_wait: tuple[int, int] | None = None) -> None:
    """PostgreSQL: move the enrollments and write their step runs in one statement
    (WITH moved AS (UPDATE enrollment ... RETURNING ...) INSERT INTO step_run SELECT ...)."""
    e = Enrollment
    moved = (update(e).where(id_in(e.id, ids), e.status == ACTIVE)
             .values(current_step_id=step.id, updated_at=now,
                     steps_done=e.steps_done + (1 if counted else 0))
             .returning(e.tenant_id, e.id, e.sequence_id, e.record_id, e.seller_id)
             .cte("moved"))
    stamp = literal(now, DateTime(timezone=True))
    due = literal(due_at, DateTime(timezone=True))
    source = select(moved.c.tenant_id, moved.c.id, literal(step.id, Integer),
                    moved.c.sequence_id, moved.c.record_id, moved.c.seller_id,
                    literal(step.type, String), literal(status, String), due, stamp,
                    stamp if started else null(), literal(0, Integer))
    if local_wait is not None:
        # Each moved record's zone by its primary key (LATERAL ... LIMIT 1 keeps the planner
        # from hashing the whole record table for one batch).
        days, hours = local_wait
        zone = select(func.coalesce(Record.time_zone, "UTC").label("name")).where(
            Record.id == moved.c.record_id).limit(1).lateral("zone")
        local_due = func.timezone(zone.c.name, func.timezone(zone.c.name, stamp)
                                  + func.make_interval(0, 0, 0, days)) \
            + func.make_interval(0, 0, 0, 0, hours)
        source = source.with_only_columns(*[
            local_due if i == 8 else c for i, c in enumerate(source.selected_columns)]) \
            .select_from(moved.join(zone, true()))
    else:
        source = source.select_from(moved)
    db.session.execute(insert(StepRun).from_select(RUN_COLUMNS, source).add_cte(moved))


def _update_fields(graph: StepGraph, ids: list[int], step: StepInfo, now: datetime,
                   counted: bool) -> None:
    """A field update command for a whole group: one UPDATE of the records, then on."""
    from saas.errors import ServiceError
    from saas.records.services import set_field_many

    rows = db.session.execute(select(Enrollment.record_id, Record.record_type).join(
        Record, Record.id == Enrollment.record_id).where(
        id_in(Enrollment.id, ids), Enrollment.status == ACTIVE)).all()
    config = step.config or {}
    _insert_runs(ids, step, "completed", now, now, started=True, outcome="done")
    _move(ids, step.id, now, counted)
    for record_type in sorted({r.record_type for r in rows}):
        try:
            set_field_many([r.record_id for r in rows if r.record_type == record_type],
                           record_type, str(config.get("field") or ""),
                           str(config.get("value") or ""))
        except ServiceError as exc:
            db.session.execute(update(StepRun).where(
                StepRun.step_id == step.id, id_in(StepRun.enrollment_id, ids))
                .values(outcome="failed", error=str(exc))
                .execution_options(synchronize_session=False))
    advance_group(graph, ids, step.id, None, now)  # only those still active go on


def _is_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def _move(ids: list[int], step_id: int, now: datetime, counted: bool) -> None:
    db.session.execute(
        update(Enrollment).where(id_in(Enrollment.id, ids), Enrollment.status == ACTIVE)
        .values(current_step_id=step_id, updated_at=now,
                steps_done=Enrollment.steps_done + (1 if counted else 0))
        .execution_options(synchronize_session=False))


def _complete(ids: list[int], now: datetime, counted: bool) -> None:
    db.session.execute(
        update(Enrollment).where(id_in(Enrollment.id, ids), Enrollment.status == ACTIVE)
        .values(status=EnrollmentStatus.COMPLETED.value, ended_at=now, updated_at=now,
                steps_done=Enrollment.steps_done + (1 if counted else 0))
        .execution_options(synchronize_session=False))


SIMPLE_FIRST = {t.value for t in StepType if t.is_manual or t.is_automated_send} | {
    StepType.WAIT.value}


def starts_simply(graph: StepGraph) -> int | None:
    """The first step's id when starting needs no decision per record (the connect INSERT can
    point enrollments at it directly), else None."""
    first = graph.first()
    return first.id if first is not None and first.type in SIMPLE_FIRST else None


def advance_group(graph: StepGraph, enrollment_ids: list[int], step_id: int | None,
                  branch: str | None, now: datetime, *, counted: bool = True,
                  already_moved: bool = False) -> int:
    """Move these active enrollments on past `step_id` (None: start them); returns how many
    step runs or endings were written. `already_moved`: the enrollments already point at the
    next step (written by the connect INSERT)."""
    ids = sorted(set(enrollment_ids))
    if not ids:
        return 0
    step = graph.next_step(step_id, branch)
    for chunk in chunks(ids):
        if step is None:
            _complete(chunk, now, counted)
            continue
        kind = StepType(step.type)
        if _is_postgresql() and not already_moved and (
                kind.is_manual or kind in (StepType.WAIT, StepType.EMAIL_CONDITION)):
            if kind.is_manual:
                _insert_and_move(chunk, step, "open", now, now, counted)
            else:
                _insert_and_move(chunk, step, "waiting", now, now, counted, started=True,
                                 local_wait=wait_parts(step))
            if kind is StepType.EMAIL_CONDITION:
                decide_email_conditions(graph, step, chunk, now, timed_out=False)
            continue
        if kind.is_manual:
            _insert_runs(chunk, step, "open", now, now)
        elif kind is StepType.WAIT and not int((step.config or {}).get("days") or 0):
            _insert_runs(chunk, step, "waiting", wait_due(step, now, "UTC"), now, started=True)
        elif kind in (StepType.WAIT, StepType.EMAIL_CONDITION) and _is_postgresql():
            _insert_runs(chunk, step, "waiting", now, now, started=True,
                         local_wait=wait_parts(step))
        elif kind in (StepType.WAIT, StepType.EMAIL_CONDITION) or kind.is_automated_send:
            window = (_settings(graph.sequence_id).get("window")
                      if kind.is_automated_send else None)
            for zone in _zones(chunk):
                if kind.is_automated_send:
                    _insert_runs(chunk, step, "pending", next_opening(now, zone, window), now,
                                 zone=zone)
                else:
                    _insert_runs(chunk, step, "waiting", wait_due(step, now, zone), now,
                                 zone=zone, started=True)
        elif kind is StepType.UPDATE_FIELD:
            _update_fields(graph, chunk, step, now, counted)
            continue
        else:
            _one_by_one(graph, chunk, step_id, branch, now, counted)
            continue
        if not already_moved:
            _move(chunk, step.id, now, counted)
        if kind is StepType.EMAIL_CONDITION:
            decide_email_conditions(graph, step, chunk, now, timed_out=False)
    return len(ids)


def _one_by_one(graph: StepGraph, ids: list[int], step_id: int | None, branch: str | None,
                now: datetime, counted: bool) -> None:
    for enrollment in db.session.execute(
            select(Enrollment).where(id_in(Enrollment.id, ids), Enrollment.status == ACTIVE)
            .order_by(Enrollment.id)).scalars():
        advance_from(enrollment, step_id, branch=branch, now=now, graph=graph, counted=counted)
    db.session.flush()


def decide_email_conditions(graph: StepGraph, step: StepInfo, enrollment_ids: list[int],
                            now: datetime, *, timed_out: bool,
                            extra: dict[int, set[str]] | None = None) -> int:
    """Decide the waiting email-condition runs of these enrollments that can be decided now
    (every one of them when `timed_out`) and move them down their branch."""
    decisions = email_decisions(graph, step, enrollment_ids, timed_out=timed_out,
                                extra=extra)
    decided = 0
    for outcome in ("yes", "no"):
        ids = [e for e, d in decisions.items() if d == outcome]
        if not ids:
            continue
        moved = db.session.execute(
            update(StepRun).where(StepRun.step_id == step.id, id_in(StepRun.enrollment_id, ids),
                                  StepRun.status == "waiting")
            .values(status="completed", completed_at=now, outcome=outcome,
                    started_at=func.coalesce(StepRun.started_at, now))
            .returning(StepRun.enrollment_id)
            .execution_options(synchronize_session=False)).scalars().all()
        decided += len(moved)
        advance_group(graph, list(moved), step.id, outcome, now)
    return decided
