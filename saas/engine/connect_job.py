"""The background connect job: a segment's members (or a large selection) connected in chunks,
each chunk one INSERT ... SELECT and one commit, with progress for the bar."""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from saas.engine.connect import ConnectRefused, connect_many, lineage_of
from saas.engine.models import ConnectJob
from saas.extensions import db
from saas.segments.models import SegmentMember
from saas.tenancy import tenant_context
from saas.timeutil import utcnow

log = logging.getLogger(__name__)
CHUNK = 20000
FORGOTTEN_AFTER = 60  # seconds a queued job waits before the tick enqueues it again


def _record_chunks(job: ConnectJob):
    if job.record_ids is not None:
        ids = list(job.record_ids)
        for start in range(0, len(ids), CHUNK):
            yield ids[start:start + CHUNK]
        return
    last = 0
    while True:
        ids = db.session.execute(
            select(SegmentMember.record_id).where(SegmentMember.segment_id == job.segment_id,
                                                  SegmentMember.record_id > last)
            .order_by(SegmentMember.record_id).limit(CHUNK)).scalars().all()
        if not ids:
            return
        last = ids[-1]
        yield ids


def run_connect_job(job_id: int, tenant_id: int) -> None:
    """RQ entry point (ids in). Repeats are harmless: connecting skips running records."""
    with tenant_context(tenant_id):
        job = db.session.execute(select(ConnectJob).where(ConnectJob.id == job_id)
                                 .with_for_update(skip_locked=True)).scalar_one_or_none()
        if job is None or job.status == "done":
            db.session.rollback()
            return
        job.status, job.done, job.connected, job.skipped, job.needs_seller = "running", 0, 0, 0, 0
        db.session.commit()
        lineage = lineage_of(job.sequence_id)
        try:
            for chunk in _record_chunks(job):
                counts = connect_many(chunk, lineage, source="segment" if job.segment_id
                                      else "bulk", segment_id=job.segment_id)
                db.session.execute(update(ConnectJob).where(ConnectJob.id == job_id).values(
                    done=ConnectJob.done + len(chunk),
                    connected=ConnectJob.connected + counts["connected"],
                    skipped=ConnectJob.skipped + counts["skipped"],
                    needs_seller=ConnectJob.needs_seller + counts["needs_seller"]))
                db.session.commit()
            db.session.execute(update(ConnectJob).where(ConnectJob.id == job_id).values(
                status="done", finished_at=utcnow()))
            db.session.commit()
        except ConnectRefused as refused:
            db.session.rollback()
            db.session.execute(update(ConnectJob).where(ConnectJob.id == job_id).values(
                status="failed", error=str(refused), finished_at=utcnow()))
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("connect job %s failed", job_id)
            db.session.execute(update(ConnectJob).where(ConnectJob.id == job_id).values(
                status="failed", error="Something went wrong; try again.",
                finished_at=utcnow()))
            db.session.commit()
            raise


def requeue_forgotten(tenant_id: int, older_than_seconds: float = FORGOTTEN_AFTER) -> int:
    """Queued connect jobs whose RQ job was lost (Redis flushed or away) are enqueued again
    (a unique job id: one still waiting in Redis is left alone)."""
    from datetime import timedelta

    from saas.engine.services import enqueue_connect

    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    ids = db.session.execute(select(ConnectJob.id).where(
        ConnectJob.tenant_id == tenant_id, ConnectJob.status == "queued",
        ConnectJob.created_at < cutoff)).scalars().all()
    db.session.rollback()
    return sum(1 for job_id in ids if enqueue_connect(job_id, tenant_id))
