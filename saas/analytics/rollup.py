"""A sequence's figures day by day (all its versions), computed by four SQL aggregates and kept
as a small snapshot: any period and any version is then a sum over a few thousand numbers.

- step runs by (step, day reached, day sent): reached, completed, skipped, failed; the day sent
  gives the timeline's messages sent;
- events by (step, event kind, day the step was reached): step runs with at least one event of
  the kind (a message opened three times counts once);
- replies by the day they arrived (the timeline);
- enrollments by (day connected, status, exit reason), with those whose record meets the
  sequence goal.
Days are UTC dates as ISO strings. What depends on the moment (overdue activities) and what
cannot be added up (the median) are read live by `queries`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, case, func, select

from saas.analytics.queries import (
    DONE_STATUSES,
    EVENT_COLUMNS,
    MESSAGE_TYPES,
    Period,
    RecordSummary,
    StepFigures,
    lineage_of,
    ordered_steps,
    tune_session,
    versions,
)
from saas.engine.abtests import goal_clause
from saas.engine.models import Enrollment, StepRun
from saas.extensions import db
from saas.messaging.models import MessageEvent
from saas.records.models import Record
from saas.sequences.models import Sequence

STEP_COUNTS = ("reached", "completed", "skipped", "failed")
STATUSES = ("active", "paused", "completed", "exited", "disconnected")


@dataclass
class Rollup:
    computed_at: str
    has_goal: bool
    # step id (str) -> day -> {"reached": n, ..., "opened": n, ...}
    steps: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    sends: dict[str, int] = field(default_factory=dict)      # day sent -> messages
    replies: dict[str, int] = field(default_factory=dict)    # day -> replies
    # day connected -> {"active": n, ..., "exited:reply": n, "goal": n}
    enrollments: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def computed(self) -> datetime:
        return datetime.fromisoformat(self.computed_at)


def _day(value) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


def _add(target: dict[str, int], key: str, value: int) -> None:
    if value:
        target[key] = target.get(key, 0) + value


def compute(sequence: Sequence, now: datetime) -> Rollup:
    tune_session()
    lineage = versions(sequence)
    version_ids = [v.id for v in lineage]
    active = [v for v in lineage if v.status == "active"]
    sequence = active[-1] if active else lineage[-1]  # whose goal counts
    rollup = Rollup(computed_at=now.isoformat(),
                    has_goal=bool((sequence.settings or {}).get("goal")))
    sent_at = func.coalesce(StepRun.completed_at, StepRun.started_at)
    is_send = and_(StepRun.status.in_(DONE_STATUSES), StepRun.step_type.in_(MESSAGE_TYPES))
    sent_day = case((is_send, func.date(sent_at)), else_=None)
    reached_day = func.date(StepRun.created_at)
    for step_id, day, sent, *counts in db.session.execute(
        select(StepRun.step_id, reached_day, sent_day, func.count(),
               func.count().filter(StepRun.status.in_(DONE_STATUSES)),
               func.count().filter(StepRun.status == "skipped"),
               func.count().filter(StepRun.status == "failed"))
        .where(StepRun.sequence_id.in_(version_ids))
        .group_by(StepRun.step_id, reached_day, sent_day)
    ):
        cell = rollup.steps.setdefault(str(step_id), {}).setdefault(_day(day), {})
        for name, value in zip(STEP_COUNTS, counts, strict=True):
            _add(cell, name, value)
        if sent is not None:
            _add(rollup.sends, _day(sent), counts[1])
    for step_id, kind, day, count in db.session.execute(
        select(StepRun.step_id, MessageEvent.kind, reached_day,
               func.count(func.distinct(MessageEvent.step_run_id)))
        .join(StepRun, StepRun.id == MessageEvent.step_run_id)
        .where(MessageEvent.kind.in_(tuple(EVENT_COLUMNS)),
               StepRun.sequence_id.in_(version_ids), StepRun.step_type.in_(MESSAGE_TYPES))
        .group_by(StepRun.step_id, MessageEvent.kind, reached_day)
    ):
        cell = rollup.steps.setdefault(str(step_id), {}).setdefault(_day(day), {})
        _add(cell, EVENT_COLUMNS[kind], count)
    reply_day = func.date(MessageEvent.occurred_at)
    for day, count in db.session.execute(
        select(reply_day, func.count(func.distinct(StepRun.id)))
        .join(StepRun, StepRun.id == MessageEvent.step_run_id)
        .where(StepRun.sequence_id.in_(version_ids), MessageEvent.kind == "reply")
        .group_by(reply_day)
    ):
        _add(rollup.replies, _day(day), count)
    started_day = func.date(Enrollment.started_at)
    goal = func.count().filter(goal_clause(sequence)) if rollup.has_goal else func.count()
    stmt = (select(started_day, Enrollment.status, Enrollment.exit_reason, func.count(), goal)
            .where(Enrollment.lineage_id == lineage_of(sequence))
            .group_by(started_day, Enrollment.status, Enrollment.exit_reason))
    if rollup.has_goal:
        stmt = stmt.outerjoin(Record, Record.id == Enrollment.record_id)  # deleted: no goal
    for day, status, reason, count, reached_goal in db.session.execute(stmt):
        cell = rollup.enrollments.setdefault(_day(day), {})
        _add(cell, status, count)
        if status == "exited":
            _add(cell, f"exited:{reason or 'other'}", count)
        if rollup.has_goal:
            _add(cell, "goal", reached_goal)
    return rollup


def _days_in(period: Period, by_day: dict):
    first = period.start.date().isoformat() if period.start else None
    last = period.end.date().isoformat()
    return [(day, value) for day, value in by_day.items()
            if (first is None or day >= first) and day <= last]


def summary(rollup: Rollup, period: Period) -> RecordSummary:
    result = RecordSummary(goal_reached=0 if rollup.has_goal else None)
    for _, cell in _days_in(period, rollup.enrollments):
        for key, count in cell.items():
            if key in STATUSES:
                result.connected += count
                setattr(result, key, getattr(result, key) + count)
            elif key.startswith("exited:"):
                reason = key.split(":", 1)[1]
                result.exited_by_reason[reason] = result.exited_by_reason.get(reason, 0) + count
            elif key == "goal":
                result.goal_reached += count
    return result


def steps(rollup: Rollup, chosen_id: int, period: Period,
          overdue: dict[int, int]) -> list[StepFigures]:
    rows = []
    for step, depth, label in ordered_steps(chosen_id):
        row = StepFigures(step, depth, label, overdue=overdue.get(step.id, 0))
        for _, cell in _days_in(period, rollup.steps.get(str(step.id), {})):
            for key, count in cell.items():
                if key in STEP_COUNTS:
                    setattr(row, key, getattr(row, key) + count)
                else:
                    row.events[key] = row.events.get(key, 0) + count
        rows.append(row)
    return rows


def timeline(rollup: Rollup, period: Period) -> list[tuple[date, int, int]]:
    return [(day, rollup.sends.get(day.isoformat(), 0), rollup.replies.get(day.isoformat(), 0))
            for day in period.timeline_days()]
