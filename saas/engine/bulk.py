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

from datetime import datetime

from sqlalchemy import func, select, update

from saas.engine.advance import advance_from
from saas.engine.conditions import email_decisions, runs_of_step
from saas.engine.graph import StepGraph, StepInfo
from saas.engine.group_decisions import decide_group
from saas.engine.models import Enrollment, StepRun
from saas.engine.run_rows import RUNNING, chunks, complete, due_times, write_step
from saas.engine.sql import id_in
from saas.extensions import db
from saas.sequences.models import StepType

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
            complete(chunk, now, counted)
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
        write_step(chunk, step, status, due_times(graph, step, chunk, now), now, int(counted),
                   already_moved=already_moved, started=status == "waiting")
        if kind is StepType.EMAIL_CONDITION:
            decide_email_conditions(graph, step, chunk, now, timed_out=False)
    return len(ids)


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
