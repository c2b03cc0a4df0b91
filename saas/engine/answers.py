"""The engine's side of what the floors below announce and ask (`saas.signals`), connected in
`saas.wiring`. Each runs in the announcer's transaction and does not commit."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update

from saas.engine.abtests import start_tests
from saas.engine.lifecycle import end_enrollments, exit_deleted_records, exit_for_records
from saas.engine.models import (
    RUNNING_STATUSES,
    AbTest,
    Enrollment,
    EnrollmentStatus,
    MessageResend,
    SegmentConnection,
    StepRun,
)
from saas.engine.services import connect_selection_message
from saas.extensions import db

# --- records ---


def leads_disqualified(_sender, *, record_ids: list[int], **_more) -> None:
    exit_for_records(record_ids, "disqualified")


def records_deleting(_sender, *, record_ids: list[int], **_more) -> int:
    return exit_deleted_records(record_ids)


def selection_connecting(_sender, *, record_ids: list[int], sequence_id, user_id: int | None,
                         **_more) -> str:
    return connect_selection_message(record_ids, sequence_id, user_id)


# --- segments ---


def segment_deleting(_sender, *, segment_id: int, **_more) -> None:
    """Connections made through the segment keep running; they forget it."""
    db.session.execute(update(Enrollment).where(Enrollment.segment_id == segment_id)
                       .values(segment_id=None).execution_options(synchronize_session=False))


# --- sequences (design time) ---


def sequence_activated(_sender, *, sequence_id: int, **_more) -> None:
    """The version's A/B tests start running with it."""
    start_tests(sequence_id)


def sequence_deactivated(_sender, *, lineage_id: int, **_more) -> int:
    """Records running in any version are disconnected (their live steps cancelled)."""
    ids = db.session.execute(select(Enrollment.id).where(
        Enrollment.lineage_id == lineage_id, Enrollment.status.in_(RUNNING_STATUSES))
        .order_by(Enrollment.id)).scalars().all()
    return end_enrollments(ids, EnrollmentStatus.DISCONNECTED.value, "sequence_deactivated")


def sequence_deleting(_sender, *, lineage_id: int, sequence_ids: list[int], **_more) -> None:
    """Every version's connections go, with their history (none is running: the design floor
    refused the deletion otherwise)."""
    enrollments = select(Enrollment.id).where(Enrollment.sequence_id.in_(sequence_ids))
    for stmt in (delete(MessageResend).where(MessageResend.enrollment_id.in_(enrollments)),
                 delete(StepRun).where(StepRun.enrollment_id.in_(enrollments)),
                 delete(Enrollment).where(Enrollment.sequence_id.in_(sequence_ids)),
                 delete(SegmentConnection).where(SegmentConnection.lineage_id == lineage_id)):
        db.session.execute(stmt.execution_options(synchronize_session=False))


def running_count(_sender, *, lineage_id: int, **_more) -> int:
    return db.session.execute(select(func.count()).select_from(Enrollment).where(
        Enrollment.lineage_id == lineage_id,
        Enrollment.status.in_(RUNNING_STATUSES))).scalar_one()


def running_counts(_sender, **_more) -> dict[int, int]:
    return dict(db.session.execute(
        select(Enrollment.lineage_id, func.count())
        .where(Enrollment.status.in_(RUNNING_STATUSES))
        .group_by(Enrollment.lineage_id)).all())


def ab_tests(_sender, *, sequence_id: int, **_more) -> dict:
    return {t.step_id: t for t in db.session.execute(
        select(AbTest).where(AbTest.sequence_id == sequence_id)).scalars()}
