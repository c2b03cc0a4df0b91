"""The read side of connections: a record's sequences, a sequence's connected records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from saas.auth.models import User, UserStatus
from saas.engine import clock, reasons
from saas.engine.models import (
    RUNNING_STATUSES,
    ConnectJob,
    Enrollment,
    SegmentConnection,
    StepRun,
)
from saas.extensions import db
from saas.i18n import _l
from saas.records.fields import search_text
from saas.records.models import Record
from saas.segments.models import Segment, SegmentStatus
from saas.sequences.models import Sequence, SequenceStatus, Step
from saas.timeutil import aware
from saas.web.pagination import keyset_page

PAGE_SIZE = 50
STATUSES = ["active", "paused", "completed", "exited", "disconnected"]
UNCERTAIN = "uncertain"  # connections whose automated send may or may not have left
FILTERS = [*STATUSES, "unassigned", UNCERTAIN]
FILTER_LABELS = {**reasons.STATUSES, "unassigned": _l("Needs a seller"),
                 UNCERTAIN: _l("Uncertain sends")}


@dataclass
class Row:
    enrollment: Enrollment
    record: Record | None
    sequence: Sequence | None
    step_name: str | None
    total_steps: int
    seller: str | None
    branched: bool = False  # conditions: the number of steps depends on the branch taken

    @property
    def days(self) -> int:
        end = aware(self.enrollment.ended_at) or clock.now()
        return max(0, (end - aware(self.enrollment.started_at)).days)

    @property
    def running(self) -> bool:
        return self.enrollment.status in RUNNING_STATUSES


def _rows(enrollments: list[Enrollment]) -> list[Row]:
    if not enrollments:
        return []
    records = {r.id: r for r in db.session.execute(select(Record).where(
        Record.id.in_({e.record_id for e in enrollments}))).scalars()}
    sequences = {s.id: s for s in db.session.execute(select(Sequence).where(
        Sequence.id.in_({e.sequence_id for e in enrollments}))).scalars()}
    step_ids = {e.current_step_id for e in enrollments if e.current_step_id}
    steps = dict(db.session.execute(select(Step.id, Step.name).where(Step.id.in_(step_ids)))
                 .all()) if step_ids else {}
    totals = dict(db.session.execute(select(Step.sequence_id, func.count()).where(
        Step.sequence_id.in_(set(sequences)), Step.parent_id.is_(None))
        .group_by(Step.sequence_id)).all())
    branched = set(db.session.execute(select(Step.sequence_id).where(
        Step.sequence_id.in_(set(sequences)), Step.parent_id.is_not(None)).distinct())
        .scalars())
    sellers = dict(db.session.execute(select(User.id, User.name).where(
        User.id.in_({e.seller_id for e in enrollments if e.seller_id}))).all())
    return [Row(e, records.get(e.record_id), sequences.get(e.sequence_id),
                steps.get(e.current_step_id), totals.get(e.sequence_id, 0),
                sellers.get(e.seller_id), e.sequence_id in branched) for e in enrollments]


def for_record(record_id: int) -> list[Row]:
    enrollments = db.session.execute(select(Enrollment).where(
        Enrollment.record_id == record_id).order_by(Enrollment.id.desc()).limit(20)).scalars()
    return _rows(list(enrollments))


def connectable_sequences(record_type: str, record_id: int | None = None) -> list[Sequence]:
    """Active sequences of this record type; with `record_id`, not those the record is already
    running in (active or paused)."""
    stmt = select(Sequence).where(Sequence.status == SequenceStatus.ACTIVE.value,
                                  Sequence.record_type == record_type)
    if record_id is not None:
        stmt = stmt.where(func.coalesce(Sequence.lineage_id, Sequence.id).not_in(
            select(Enrollment.lineage_id).where(Enrollment.record_id == record_id,
                                                Enrollment.status.in_(RUNNING_STATUSES))))
    return list(db.session.execute(stmt.order_by(Sequence.name)).scalars())


def connected_page(lineage_id: int, status: str | None, after: str | None, search: str = ""):
    """A page of the sequence's connections, newest first; `search` matches the record's name,
    company or email (the records' trigram index finds them, then their connections)."""
    stmt = select(Enrollment).where(Enrollment.lineage_id == lineage_id)
    if search:
        matching = select(Record.id).where(search_text().contains(search.lower(),
                                                                  autoescape=True))
        stmt = stmt.where(Enrollment.record_id.in_(matching))
    if status in STATUSES:
        stmt = stmt.where(Enrollment.status == status)
    elif status == "unassigned":
        stmt = stmt.where(Enrollment.seller_id.is_(None),
                          Enrollment.status.in_(RUNNING_STATUSES))
    page = keyset_page(stmt, [Enrollment.id], after, descending=True, limit=PAGE_SIZE,
                       cursor_of=lambda e: (e.id,))
    return _rows(page.items), page.next_after


@dataclass
class UncertainSend:
    """A send whose outcome is unknown, with its connection: a manager decides."""

    run: StepRun
    row: Row
    step_name: str | None

    @property
    def attempted_at(self) -> datetime | None:
        return self.run.started_at or self.run.completed_at


def _uncertain_runs(lineage_id: int):
    """Unknown runs of the lineage's connections: the partial index `ix_step_run_unknown`
    finds the tenant's few unknown runs; each joins its enrollment by primary key."""
    return (select(StepRun).join(Enrollment, Enrollment.id == StepRun.enrollment_id)
            .where(StepRun.status == "unknown", Enrollment.lineage_id == lineage_id))


def uncertain_page(lineage_id: int, after: str | None, search: str = ""):
    """A page of the lineage's uncertain sends, newest first."""
    stmt = _uncertain_runs(lineage_id)
    if search:
        matching = select(Record.id).where(search_text().contains(search.lower(),
                                                                  autoescape=True))
        stmt = stmt.where(StepRun.record_id.in_(matching))
    page = keyset_page(stmt, [StepRun.id], after, descending=True, limit=PAGE_SIZE,
                       cursor_of=lambda r: (r.id,))
    runs = page.items
    if not runs:
        return [], page.next_after
    enrollments = {e.id: e for e in db.session.execute(select(Enrollment).where(
        Enrollment.id.in_({r.enrollment_id for r in runs}))).scalars()}
    rows = {row.enrollment.id: row for row in _rows(list(enrollments.values()))}
    names = dict(db.session.execute(select(Step.id, Step.name).where(
        Step.id.in_({r.step_id for r in runs}))).all())
    return [UncertainSend(r, rows[r.enrollment_id], names.get(r.step_id)) for r in runs
            if r.enrollment_id in rows], page.next_after


def counts(lineage_id: int) -> dict[str, int]:
    found = dict(db.session.execute(select(Enrollment.status, func.count()).where(
        Enrollment.lineage_id == lineage_id).group_by(Enrollment.status)).all())
    found["all"] = sum(found.values())
    found["unassigned"] = db.session.execute(select(func.count()).select_from(Enrollment).where(
        Enrollment.lineage_id == lineage_id, Enrollment.seller_id.is_(None),
        Enrollment.status.in_(RUNNING_STATUSES))).scalar_one()
    found[UNCERTAIN] = db.session.execute(
        _uncertain_runs(lineage_id).with_only_columns(func.count())).scalar_one()
    return found


def segment_connections(lineage_id: int) -> list[tuple[SegmentConnection, Segment]]:
    return list(db.session.execute(
        select(SegmentConnection, Segment).join(Segment, Segment.id ==
                                                SegmentConnection.segment_id)
        .where(SegmentConnection.lineage_id == lineage_id).order_by(Segment.name)).all())


def connectable_segments(record_type: str, lineage_id: int) -> list[Segment]:
    """Active segments of this record type not connected to the sequence yet."""
    connected = select(SegmentConnection.segment_id).where(
        SegmentConnection.lineage_id == lineage_id)
    return list(db.session.execute(select(Segment).where(
        Segment.status == SegmentStatus.ACTIVE.value, Segment.record_type == record_type,
        Segment.id.not_in(connected)).order_by(Segment.name)).scalars())


def recent_jobs(lineage_id: int) -> list[ConnectJob]:
    versions = select(Sequence.id).where(Sequence.lineage_id == lineage_id)
    return list(db.session.execute(select(ConnectJob).where(
        ConnectJob.sequence_id.in_(versions)).order_by(ConnectJob.id.desc()).limit(3)).scalars())


def sellers() -> list[User]:
    return list(db.session.execute(select(User).where(
        User.status == UserStatus.ACTIVE.value).order_by(User.name)).scalars())


def run_status(step_run_id: int) -> str | None:
    return db.session.execute(select(StepRun.status).where(StepRun.id == step_run_id)).scalar()


def last_run_at(enrollment_id: int) -> datetime | None:
    return db.session.execute(select(func.max(StepRun.completed_at)).where(
        StepRun.enrollment_id == enrollment_id)).scalar()
