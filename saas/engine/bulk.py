"""advance() for many enrollments at once, in set-based SQL.

All the enrollments of a group stand at the same step of the same version and take the same
branch, so they all reach the same next step: one INSERT ... SELECT writes their step runs and one
UPDATE moves the enrollments. Steps whose due time depends on the recipient's time zone (windows,
waits in days) are written per distinct zone, their due times computed by the same functions as
advance()'s (saas/engine/windows.py), never in SQL. Steps that need each record's own answer (A/B
choice, call and field conditions, field updates) are decided for the group at once
(saas/engine/group_decisions.py: a few set-based statements, then down each outcome's branch);
what is left (move to another sequence) goes through advance_from() one enrollment at a time, in
the same transaction. tests/engine/test_paths_agree.py holds the two paths to the same result.

Enrollments move on whether active or paused: a paused enrollment keeps its one live step run (a
send that ended while it was paused still moves it on); the tick only claims active ones' runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    case,
    func,
    insert,
    literal,
    null,
    select,
    update,
)

from saas.engine.advance import advance_from, wait_due, wait_parts
from saas.engine.conditions import email_decisions, runs_of_step
from saas.engine.graph import StepGraph, StepInfo
from saas.engine.group_decisions import decide_group
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


def _complete(ids: list[int], now: datetime, counted: bool) -> None:
    db.session.execute(
        update(Enrollment).where(id_in(Enrollment.id, ids), Enrollment.status.in_(RUNNING))
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
        if not (kind.is_manual or kind.is_automated_send
                or kind in (StepType.WAIT, StepType.EMAIL_CONDITION)):
            later, alone = ([], chunk) if already_moved else decide_group(
                graph, step, chunk, now, counted)
            if alone:
                _one_by_one(graph, alone, step_id, branch, now, counted)
            for next_ids, decided_id, outcome in later:
                advance_group(graph, next_ids, decided_id, outcome, now, counted=False)
            continue
        status = ("open" if kind.is_manual else "pending" if kind.is_automated_send
                  else "waiting")
        write_step(chunk, step, status, _due_times(graph, step, chunk, now), now, int(counted),
                   already_moved=already_moved, started=status == "waiting")
        if kind is StepType.EMAIL_CONDITION:
            decide_email_conditions(graph, step, chunk, now, timed_out=False)
    return len(ids)


def _due_times(graph: StepGraph, step: StepInfo, ids: list[int], now: datetime,
               kind: StepType | None = None) -> list[tuple[str | None, datetime]]:
    """(zone, due time) for the step's runs: one pair with zone None when the due time is the
    same for every record, else one per time zone among the records. The due times come from
    the engine's one clock arithmetic (saas/engine/windows.py), as on the single-record path.
    `kind`: the type the step acts as (an A/B step's version's), else its own."""
    kind = kind or StepType(step.type)
    if kind.is_manual:
        return [(None, now)]
    if kind.is_automated_send:
        window = _settings(graph.sequence_id).get("window")
        if not window or not window.get("days"):
            return [(None, now)]
        return _per_zone(ids, lambda zone: next_opening(now, zone, window))
    days, _hours = wait_parts(step)
    if not days:
        return [(None, wait_due(step, now, None))]
    return _per_zone(ids, lambda zone: wait_due(step, now, zone))


def _per_zone(ids: list[int], due) -> list[tuple[str | None, datetime]]:
    zones = _zones(ids)
    if len(zones) == 1:  # the usual case: one zone, no filter on it
        return [(None, due(zones[0]))]
    return [(zone, due(zone)) for zone in zones]


def _one_by_one(graph: StepGraph, ids: list[int], step_id: int | None, branch: str | None,
                now: datetime, counted: bool) -> None:
    for enrollment in db.session.execute(
            select(Enrollment).where(id_in(Enrollment.id, ids), Enrollment.status.in_(RUNNING))
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
            update(StepRun).where(runs_of_step(step.id, ids), StepRun.status == "waiting")
            .values(status="completed", completed_at=now, outcome=outcome,
                    started_at=func.coalesce(StepRun.started_at, now))
            .returning(StepRun.enrollment_id)
            .execution_options(synchronize_session=False)).scalars().all()
        decided += len(moved)
        advance_group(graph, list(moved), step.id, outcome, now)
    return decided
