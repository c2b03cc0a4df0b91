"""Step runs written for many enrollments at once, in set-based SQL (the batch path's rows:
saas/engine/bulk.py and saas/engine/group_decisions.py decide, this writes).

Due times that depend on the recipient's time zone (windows, waits in days) are written per
distinct zone, computed by the same functions as advance()'s (saas/engine/windows.py), never in
SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import DateTime, Integer, String, case, insert, literal, null, select, update

from saas.engine.advance import wait_due, wait_parts
from saas.engine.graph import StepGraph, StepInfo
from saas.engine.models import Enrollment, EnrollmentStatus, StepRun
from saas.engine.sql import id_in
from saas.engine.working_time import activity_due, for_settings, send_due
from saas.extensions import db
from saas.records.models import Record
from saas.sequences.models import Sequence, StepType
from saas.signals import enrollments_ended

CHUNK = 20000
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


RUNNING = (EnrollmentStatus.ACTIVE.value, EnrollmentStatus.PAUSED.value)
HELD_STATUSES = ("waiting", "pending")  # the statuses of the tick's due index


def _due_columns(status: str, due_at: datetime, enrollment_status) -> tuple:
    """(due_at, held_due_at) for a new run: a paused enrollment's waiting or pending run keeps
    its due time aside, out of the tick's due index, until resume (see StepRun.held_due_at)."""
    due = literal(due_at, DateTime(timezone=True))
    if status not in HELD_STATUSES:
        return due, null()
    paused = enrollment_status == EnrollmentStatus.PAUSED.value
    return case((paused, null()), else_=due), case((paused, due), else_=null())


def _run_values(now: datetime, ab_version: str | None, outcome: str | None,
                error: str | None) -> tuple[list[str], list]:
    """The columns beyond RUN_COLUMNS and held_due_at that some runs carry: the
    A/B version, and for a step decided at once its end (completed now, outcome, error)."""
    stamp = literal(now, DateTime(timezone=True))
    columns, values = [], []
    if ab_version is not None:
        columns.append("ab_version")
        values.append(literal(ab_version, String))
    if outcome is not None:  # decided at once: completed now
        columns += ["completed_at", "outcome", "error"]
        values += [stamp, literal(outcome, String), literal(error, String)]
    return columns, values


def _insert_runs(ids: list[int], step: StepInfo, status: str, due_at: datetime, now: datetime, *,
                 zone: str | None = None, started: bool = False,
                 outcome: str | None = None, error: str | None = None,
                 step_type: str | None = None, ab_version: str | None = None,
                 running_only: bool = True) -> None:
    """Step runs for these running enrollments (of records in `zone` when given); with
    `running_only` False, for these enrollments whatever their status (they were running when
    the step was decided)."""
    e = Enrollment
    stamp = literal(now, DateTime(timezone=True))
    due, held = _due_columns(status, due_at, e.status)
    extra_columns, extra = _run_values(now, ab_version, outcome, error)
    values = [e.tenant_id, e.id, literal(step.id, Integer), e.sequence_id, e.record_id,
              e.seller_id, literal(step_type or step.type, String), literal(status, String),
              due, stamp, stamp if started else null(), literal(0, Integer), held, *extra]
    source = select(*values).where(id_in(e.id, ids))
    if running_only:
        source = source.where(e.status.in_(RUNNING))
    if zone is not None:
        source = source.join(Record, Record.id == e.record_id).where(Record.time_zone == zone)
    db.session.execute(insert(StepRun).from_select(
        [*RUN_COLUMNS, "held_due_at", *extra_columns], source))


def _insert_and_move(ids: list[int], step: StepInfo, status: str, due_at: datetime,
                     now: datetime, added: int, *, started: bool = False,
                     zone: str | None = None, outcome: str | None = None,
                     error: str | None = None, step_type: str | None = None,
                     ab_version: str | None = None, running_only: bool = True) -> None:
    """PostgreSQL: move the enrollments (of records in `zone` when given; `added` to their steps
    done) and write their step runs in one statement (WITH moved AS (UPDATE enrollment ...
    RETURNING ...) INSERT INTO step_run SELECT ...)."""
    e = Enrollment
    moved = update(e).where(id_in(e.id, ids))
    if running_only:
        moved = moved.where(e.status.in_(RUNNING))
    if zone is not None:
        moved = moved.where(e.record_id == Record.id, Record.time_zone == zone)
    moved = (moved.values(current_step_id=step.id, updated_at=now,
                          steps_done=e.steps_done + added)
             .returning(e.tenant_id, e.id, e.sequence_id, e.record_id, e.seller_id, e.status)
             .cte("moved"))
    stamp = literal(now, DateTime(timezone=True))
    due, held = _due_columns(status, due_at, moved.c.status)
    extra_columns, extra = _run_values(now, ab_version, outcome, error)
    source = select(moved.c.tenant_id, moved.c.id, literal(step.id, Integer),
                    moved.c.sequence_id, moved.c.record_id, moved.c.seller_id,
                    literal(step_type or step.type, String), literal(status, String), due,
                    stamp, stamp if started else null(), literal(0, Integer), held,
                    *extra).select_from(moved)
    db.session.execute(insert(StepRun).from_select(
        [*RUN_COLUMNS, "held_due_at", *extra_columns], source).add_cte(moved))


def write_step(ids: list[int], step: StepInfo, status: str,
               due_times: list[tuple[str | None, datetime]], now: datetime, added: int, *,
               already_moved: bool = False, started: bool = False, **run) -> None:
    """Point these enrollments at `step` (`added` to their steps done) and write their runs
    there, due at `due_times` ((zone or None, due time) pairs, see _due_times); `run`: the
    step type it acts as, the A/B version, the outcome and error of a step decided at once,
    running_only."""
    for zone, due_at in due_times:
        if _is_postgresql() and not already_moved:
            _insert_and_move(ids, step, status, due_at, now, added, started=started, zone=zone,
                             **run)
        else:
            _insert_runs(ids, step, status, due_at, now, zone=zone, started=started, **run)
    if not already_moved and not _is_postgresql():
        _move(ids, step.id, now, added, running_only=run.get("running_only", True))


def _is_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def _move(ids: list[int], step_id: int, now: datetime, added: int, *,
          running_only: bool = True) -> None:
    where = [id_in(Enrollment.id, ids)]
    if running_only:
        where.append(Enrollment.status.in_(RUNNING))
    db.session.execute(
        update(Enrollment).where(*where)
        .values(current_step_id=step_id, updated_at=now, steps_done=Enrollment.steps_done + added)
        .execution_options(synchronize_session=False))


def complete(ids: list[int], now: datetime, counted: bool) -> None:
    db.session.execute(
        update(Enrollment).where(id_in(Enrollment.id, ids), Enrollment.status.in_(RUNNING))
        .values(status=EnrollmentStatus.COMPLETED.value, ended_at=now, updated_at=now,
                steps_done=Enrollment.steps_done + (1 if counted else 0))
        .execution_options(synchronize_session=False))
    enrollments_ended.send(None, enrollment_ids=ids, at=now)


def due_times(graph: StepGraph, step: StepInfo, ids: list[int], now: datetime,
               kind: StepType | None = None) -> list[tuple[str | None, datetime]]:
    """(zone, due time) for the step's runs: one pair with zone None when the due time is the
    same for every record, else one per time zone among the records. The due times come from
    the engine's one clock arithmetic (saas/engine/windows.py), as on the single-record path.
    `kind`: the type the step acts as (an A/B step's version's), else its own. Waits counted
    in working time follow the tenant's calendar in the tenant's zone: one due time for all
    (saas/engine/working_time.py, the calendar read once per batch)."""
    kind = kind or StepType(step.type)
    settings = _settings(graph.sequence_id)
    working = for_settings(settings)
    if kind.is_manual:
        return [(None, activity_due(now, working))]
    if kind.is_automated_send:
        window = settings.get("window")
        if not window or not window.get("days"):
            return [(None, activity_due(now, working))]
        return _per_zone(ids, lambda zone: send_due(now, zone, window, working))
    if working is not None:
        return [(None, wait_due(step, now, None, working))]
    days, _hours = wait_parts(step)
    if not days:
        return [(None, wait_due(step, now, None))]
    return _per_zone(ids, lambda zone: wait_due(step, now, zone))


def _per_zone(ids: list[int], due) -> list[tuple[str | None, datetime]]:
    zones = _zones(ids)
    if len(zones) == 1:  # the usual case: one zone, no filter on it
        return [(None, due(zones[0]))]
    return [(zone, due(zone)) for zone in zones]
