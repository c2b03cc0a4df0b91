"""A record's enrollment written (not started): the sequence's active version, the checks that
refuse a connection, and the seller. `connect` starts what this writes; `advance` uses it for a
"move to another sequence" step and starts the new enrollment itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from saas.engine import clock
from saas.engine.models import RUNNING_STATUSES, Enrollment
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _
from saas.records.models import Record, RecordType
from saas.sequences.models import Sequence, SequenceStatus
from saas.signals import records_connected


class ConnectRefused(ServiceError):
    pass


def active_version(lineage_id: int) -> Sequence | None:
    """The version connections go to, its row locked FOR KEY SHARE until the caller commits:
    what a foreign key would check for each enrollment written, once. It cannot be deleted
    meanwhile, and a deactivation (FOR UPDATE) waits for this connect, or this connect for it
    (and then finds the sequence inactive)."""
    return db.session.execute(select(Sequence).where(
        Sequence.lineage_id == lineage_id, Sequence.status == SequenceStatus.ACTIVE.value)
        .order_by(Sequence.version.desc()).limit(1)
        .with_for_update(read=True, key_share=True)).scalar_one_or_none()


def lineage_of(sequence_id: int) -> int:
    lineage = db.session.execute(
        select(Sequence.lineage_id).where(Sequence.id == sequence_id)).scalar()
    return lineage or sequence_id


def target_version(lineage_id: int) -> Sequence:
    version = active_version(lineage_id)
    if version is None:
        name = db.session.execute(select(Sequence.name).where(
            Sequence.lineage_id == lineage_id).limit(1)).scalar()
        if name:
            raise ConnectRefused(_("“%(name)s” is not active: only an active sequence takes "
                                   "new records.", name=name))
        raise ConnectRefused(_("This sequence is not active: only an active sequence takes new "
                               "records."))
    return version


def running_enrollment(record_id: int, lineage_id: int) -> Enrollment | None:
    return db.session.execute(select(Enrollment).where(
        Enrollment.record_id == record_id, Enrollment.lineage_id == lineage_id,
        Enrollment.status.in_(RUNNING_STATUSES))).scalar_one_or_none()


def _seller_for(record: Record) -> int | None:
    if record.owner_id:
        return record.owner_id
    from saas.segments.assignment import assign_records
    from saas.segments.membership import owning_segment

    segment = owning_segment(record.id)
    if segment is not None and assign_records(segment.id, [record.id]):
        return db.session.execute(
            select(Record.owner_id).where(Record.id == record.id)).scalar()
    return None


def enroll_record(record: Record, lineage_id: int, *, seller_id: int | None = None,
                   source: str = "manual", segment_id: int | None = None,
                   now: datetime | None = None) -> Enrollment:
    """The record's new enrollment in the sequence's active version, not started (the caller
    starts it with advance() when it has a seller, and commits); raises ConnectRefused with a
    reason."""
    now = now or clock.now()
    version = target_version(lineage_id)
    if record.record_type != version.record_type:
        if version.record_type == RecordType.LEAD.value:
            raise ConnectRefused(_("“%(name)s” is a sequence for leads; this record is an "
                                   "opportunity.", name=version.name))
        raise ConnectRefused(_("“%(name)s” is a sequence for opportunities; this record is a "
                               "lead.", name=version.name))
    if running_enrollment(record.id, version.lineage_id or version.id) is not None:
        raise ConnectRefused(_("%(record)s is already running in “%(sequence)s”.",
                               record=record.full_name, sequence=version.name))
    enrollment = Enrollment(record_id=record.id, sequence_id=version.id,
                            lineage_id=version.lineage_id or version.id,
                            seller_id=seller_id or _seller_for(record), status="active",
                            source=source, segment_id=segment_id, steps_done=0,
                            started_at=now, updated_at=now)
    db.session.add(enrollment)
    db.session.flush()
    records_connected.send(None, enrollment_ids=[enrollment.id])
    return enrollment
