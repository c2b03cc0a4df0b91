"""What people do with connections (these commit): connect a record, a selection or a segment;
assign a seller; pause, resume, disconnect (one, or a selection of a sequence's)."""

from __future__ import annotations

import logging

from sqlalchemy import func, select, update

from saas.admin import audit
from saas.auth.models import Role, User, UserStatus
from saas.engine import clock
from saas.engine.connect import assign_seller, connect_many, connect_record
from saas.engine.connect_job import enqueue_connect
from saas.engine.enroll import ConnectRefused, target_version
from saas.engine.lifecycle import end_enrollments, hold_runs, release_runs
from saas.engine.models import (
    RUNNING_STATUSES,
    ConnectJob,
    Enrollment,
    EnrollmentStatus,
    SegmentConnection,
)
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _, _l, ngettext
from saas.records.models import Record
from saas.segments.models import Segment, SegmentMember, SegmentStatus
from saas.sequences.models import Sequence
from saas.web.ids import parse_id
from saas.web.numbers import format_number

log = logging.getLogger(__name__)
INLINE_LIMIT = 2000  # selections up to this size connect in the request


def connect_one(record: Record, sequence: Sequence, user_id: int | None) -> Enrollment:
    enrollment = connect_record(record, sequence.lineage_id or sequence.id, source="manual")
    audit.record("sequence.record_connected", record.full_name, sequence_id=sequence.id,
                 record_id=record.id)
    db.session.commit()
    return enrollment


def connect_selection(record_ids: list[int], sequence: Sequence, user_id: int | None
                      ) -> dict | ConnectJob:
    """Small selections connect now (returns the counts); large ones become a job."""
    lineage = sequence.lineage_id or sequence.id
    version = target_version(lineage)
    if len(record_ids) <= INLINE_LIMIT:
        counts = connect_many(record_ids, lineage, source="bulk")
        audit.record("sequence.records_connected", version.name, **counts)
        db.session.commit()
        return counts
    job = ConnectJob(sequence_id=version.id, record_ids=sorted(set(record_ids)),
                     requested_by_id=user_id, total=len(set(record_ids)))
    db.session.add(job)
    db.session.commit()
    enqueue_connect(job.id, job.tenant_id)
    return job


def connect_segment(segment: Segment, sequence: Sequence, user_id: int | None) -> ConnectJob:
    """Connect the segment's members now (a background job) and its new members as they join."""
    lineage = sequence.lineage_id or sequence.id
    version = target_version(lineage)
    if segment.record_type != version.record_type:
        raise ConnectRefused(_("“%(segment)s” and “%(sequence)s” are for different record "
                               "types.", segment=segment.name, sequence=version.name))
    if segment.status != SegmentStatus.ACTIVE.value:
        raise ConnectRefused(_("Activate “%(segment)s” before connecting it.",
                               segment=segment.name))
    exists = db.session.execute(select(SegmentConnection).where(
        SegmentConnection.lineage_id == lineage,
        SegmentConnection.segment_id == segment.id)).scalar_one_or_none()
    if exists is not None:
        raise ConnectRefused(_("“%(segment)s” is already connected to “%(sequence)s”.",
                               segment=segment.name, sequence=version.name))
    db.session.add(SegmentConnection(lineage_id=lineage, segment_id=segment.id,
                                     connected_by_id=user_id))
    total = db.session.execute(select(func.count()).select_from(SegmentMember).where(
        SegmentMember.segment_id == segment.id)).scalar_one()
    job = ConnectJob(sequence_id=version.id, segment_id=segment.id, requested_by_id=user_id,
                     total=total)
    db.session.add(job)
    audit.record("sequence.segment_connected", segment.name, sequence_id=version.id,
                 members=total)
    db.session.commit()
    enqueue_connect(job.id, job.tenant_id)
    return job


def disconnect_segment(connection: SegmentConnection) -> None:
    """New members stop being connected; records already running go on."""
    db.session.delete(connection)
    db.session.commit()


ENDED = _l("This connection has ended.")


def may_act_on(enrollment: Enrollment, user) -> bool:
    """Sellers act on the connections assigned to them; managers and admins on all."""
    if user is None or user.has_role(Role.SEQUENCE_MANAGER):
        return True
    return enrollment.seller_id == user.id


def _change_status(enrollment_id: int, before: str, after: str) -> str | None:
    """Compare-and-set: `before` -> `after`, under the enrollment's lock (the one lock order).
    Returns None when it changed, else the status it had."""
    db.session.execute(select(Enrollment.id).where(Enrollment.id == enrollment_id)
                       .with_for_update())
    changed = db.session.execute(
        update(Enrollment).where(Enrollment.id == enrollment_id, Enrollment.status == before)
        .values(status=after, updated_at=clock.now(), resume_at=None)  # a person decides
        .execution_options(synchronize_session=False)).rowcount
    if changed:
        return None
    return db.session.execute(select(Enrollment.status).where(
        Enrollment.id == enrollment_id)).scalar_one_or_none()


def _settle(enrollment: Enrollment, status: str | None, wanted: str) -> None:
    """After a compare-and-set: commit, or say what happened instead."""
    if status is None or status == wanted:
        db.session.commit()
        db.session.expire(enrollment)
        return
    db.session.rollback()
    raise ServiceError(ENDED)


def pause(enrollment: Enrollment) -> None:
    """Active -> paused; its live step run stays, out of the tick's due index."""
    status = _change_status(enrollment.id, EnrollmentStatus.ACTIVE.value,
                            EnrollmentStatus.PAUSED.value)
    if status is None:
        hold_runs([enrollment.id])
    _settle(enrollment, status, EnrollmentStatus.PAUSED.value)


def resume(enrollment: Enrollment) -> None:
    """Paused -> active: its step run is due again at its own time (work that fell due while
    paused runs at the next tick)."""
    status = _change_status(enrollment.id, EnrollmentStatus.PAUSED.value,
                            EnrollmentStatus.ACTIVE.value)
    if status is None:
        release_runs([enrollment.id])
    _settle(enrollment, status, EnrollmentStatus.ACTIVE.value)


def disconnect(enrollment: Enrollment) -> None:
    db.session.execute(select(Enrollment.id).where(Enrollment.id == enrollment.id)
                       .with_for_update())
    if not end_enrollments([enrollment.id], EnrollmentStatus.DISCONNECTED.value, "disconnected"):
        db.session.rollback()
        raise ServiceError(ENDED)
    db.session.commit()


def assign(enrollment: Enrollment, seller_id: int | None) -> None:
    seller = db.session.execute(select(User).where(
        User.id == (seller_id or 0), User.status == UserStatus.ACTIVE.value)
    ).scalar_one_or_none()
    if seller is None:
        raise ServiceError(_("Choose an active seller."), "seller_id")
    assign_seller(enrollment, seller.id)
    db.session.commit()


def connect_selection_message(record_ids: list[int], sequence_id, user_id: int | None) -> str:
    """Connect a list selection to a sequence (by id from a form); the message to show."""
    wanted = parse_id(sequence_id)
    sequence = db.session.execute(select(Sequence).where(
        Sequence.id == wanted)).scalar_one_or_none() if wanted else None
    if sequence is None:
        raise ServiceError(_("Choose a sequence to connect."), "sequence_id")
    return selection_message(sequence, connect_selection(record_ids, sequence, user_id))


def selection_message(sequence: Sequence, result: dict | ConnectJob) -> str:
    """What connect_selection did, for the person who asked."""
    if isinstance(result, ConnectJob):
        return ngettext("Connecting %(count)s record to “%(sequence)s” in the background.",
                        "Connecting %(count)s records to “%(sequence)s” in the background.",
                        result.total, count=format_number(result.total), sequence=sequence.name)
    sentences = [ngettext("%(count)s connected to “%(sequence)s”.",
                          "%(count)s connected to “%(sequence)s”.", result["connected"],
                          count=format_number(result["connected"]), sequence=sequence.name)]
    if result["skipped"]:
        sentences.append(ngettext(
            "%(count)s skipped (already running in it, or of another type).",
            "%(count)s skipped (already running in it, or of another type).", result["skipped"],
            count=format_number(result["skipped"])))
    if result["needs_seller"]:
        sentences.append(ngettext(
            "%(count)s waits for a seller to be assigned.",
            "%(count)s wait for a seller to be assigned.", result["needs_seller"],
            count=format_number(result["needs_seller"])))
    return " ".join(sentences)


# Bulk actions (codes, as the form posts them and the audit log names them).
BULK_ACTIONS = {"pause": "paused", "resume": "resumed", "disconnect": "disconnected"}


def bulk_action(lineage_id: int, enrollment_ids: list[int], action: str) -> int:
    """Pause, resume or disconnect the selected running connections of one sequence (ids of
    another sequence, or ended ones, are left alone); returns how many changed."""
    if action not in BULK_ACTIONS:
        raise ServiceError(_("Choose what to do with the selected records."))
    ids = db.session.execute(select(Enrollment.id).where(
        Enrollment.lineage_id == lineage_id, Enrollment.id.in_(enrollment_ids),
        Enrollment.status.in_(RUNNING_STATUSES)).order_by(Enrollment.id)
        .with_for_update()).scalars().all()
    now = clock.now()
    if action == "disconnect":
        changed = end_enrollments(ids, EnrollmentStatus.DISCONNECTED.value, "disconnected", now)
    else:
        before, after = ((EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED) if action == "pause"
                         else (EnrollmentStatus.PAUSED, EnrollmentStatus.ACTIVE))
        moved = db.session.execute(
            update(Enrollment).where(Enrollment.id.in_(ids), Enrollment.status == before.value)
            .values(status=after.value, updated_at=now, resume_at=None).returning(Enrollment.id)
            .execution_options(synchronize_session=False)).scalars().all()
        (hold_runs if action == "pause" else release_runs)(moved)
        changed = len(moved)
    audit.record(f"sequence.records_{BULK_ACTIONS[action]}", audit.records_target(changed),
                 lineage_id=lineage_id)
    db.session.commit()
    return changed
