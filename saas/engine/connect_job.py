"""The background connect job: a segment's members (or a large selection) connected in chunks,
each chunk one INSERT ... SELECT and one commit, with progress for the bar. On PostgreSQL the
chunks go in ENGINE_TICK_WORKERS threads at once, each with its own connection (the chunks hold
different records, so they never wait for each other)."""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from saas.engine.connect import ConnectRefused, connect_many, lineage_of
from saas.engine.models import ConnectJob
from saas.engine.parallel import database_workers, in_own_session
from saas.extensions import db
from saas.segments.models import SegmentMember
from saas.tenancy import tenant_context
from saas.timeutil import utcnow

log = logging.getLogger(__name__)
CHUNK = 10000
ATTEMPTS = 3  # for a chunk that met a concurrent deletion or connection
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
            _connect_chunks(job, lineage, tenant_id)
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


def _connect_chunk(job_id: int, lineage: int, chunk: list[int], source: str,
                   segment_id: int | None) -> None:
    for attempt in range(ATTEMPTS):
        try:
            counts = connect_many(chunk, lineage, source=source, segment_id=segment_id)
            break
        except IntegrityError:
            # A record of the chunk was deleted, or connected elsewhere, while the chunk was
            # written: the chunk is written again, and now skips it.
            db.session.rollback()
            if attempt == ATTEMPTS - 1:
                raise
    db.session.execute(update(ConnectJob).where(ConnectJob.id == job_id).values(
        done=ConnectJob.done + len(chunk),
        connected=ConnectJob.connected + counts["connected"],
        skipped=ConnectJob.skipped + counts["skipped"],
        needs_seller=ConnectJob.needs_seller + counts["needs_seller"]))
    db.session.commit()


def _connect_chunks(job: ConnectJob, lineage: int, tenant_id: int) -> None:
    """Every chunk connected and committed, in order (SQLite) or a few at once (PostgreSQL).
    An error stops the job once the chunks under way are done: it is raised here."""
    job_id, source, segment_id = job.id, "segment" if job.segment_id else "bulk", job.segment_id
    workers = database_workers()
    if workers == 1:
        for chunk in _record_chunks(job):
            _connect_chunk(job_id, lineage, chunk, source, segment_id)
        return
    in_thread = in_own_session(
        lambda chunk: _connect_chunk(job_id, lineage, chunk, source, segment_id), tenant_id)
    with ThreadPoolExecutor(workers, thread_name_prefix="connect") as pool:
        running: set = set()
        for chunk in _record_chunks(job):  # read in the job's session, keyset by keyset
            if len(running) >= workers:
                finished, running = wait(running, return_when=FIRST_EXCEPTION)
                for future in finished:
                    future.result()  # an error stops the job here
            running.add(pool.submit(in_thread, chunk))
        for future in running:
            future.result()


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
