"""The background connect job: a segment's members (or a large selection) connected in chunks,
each chunk one INSERT ... SELECT and one commit, with progress for the bar. On PostgreSQL the
chunks go in ENGINE_TICK_WORKERS threads at once, each with its own connection (the chunks hold
different records, so they never wait for each other).

Resumable: the job beats (`heartbeat_at`) as its chunks finish and keeps `last_record_id`, the
end of the chunks committed without a gap (chunks finish out of order). A `running` job whose
worker stopped beating for STALLED_AFTER seconds (killed by a deploy) is requeued by the tick
(`requeue_forgotten`) and goes on after `last_record_id`; a record already connected is skipped
(the running-enrollment unique index), so each record is connected once."""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import DuplicateJobError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from saas.engine import hooks
from saas.engine.connect import connect_many
from saas.engine.enroll import ConnectRefused, lineage_of
from saas.engine.models import ConnectJob
from saas.engine.parallel import database_workers, in_own_session
from saas.extensions import db, get_redis
from saas.i18n import _, speaking
from saas.segments.models import SegmentMember
from saas.tenancy import tenant_context
from saas.timeutil import utcnow

log = logging.getLogger(__name__)
CHUNK = 10000
ATTEMPTS = 3  # for a chunk that met a concurrent deletion or connection
FORGOTTEN_AFTER = 60  # seconds a queued job waits before the tick enqueues it again
STALLED_AFTER = 300  # seconds without a heartbeat before a running job is taken as dead


def _record_chunks(job: ConnectJob, after: int = 0):
    """The job's records in ascending id chunks, from after `after`."""
    if job.record_ids is not None:
        ids = sorted(i for i in job.record_ids if i > after)
        for start in range(0, len(ids), CHUNK):
            yield ids[start:start + CHUNK]
        return
    last = after
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
        if job is None or job.status != "queued":  # done, failed, or another worker has it
            db.session.rollback()
            return
        after = job.last_record_id or 0
        job.status, job.heartbeat_at = "running", utcnow()
        if not after:
            job.done, job.connected, job.skipped, job.needs_seller = 0, 0, 0, 0
        else:  # resumed: what is before `after` was committed and counted
            job.done = _count_upto(job, after)
        db.session.commit()
        lineage = lineage_of(job.sequence_id)
        # A refusal is written on the job in the language of the person who started it.
        with speaking(*_languages(job.requested_by_id, tenant_id)):
            _run(job, job_id, lineage, tenant_id, after)


def _languages(user_id: int | None, tenant_id: int) -> tuple[str | None, str | None]:
    from saas.auth.models import Tenant, User

    user = db.session.execute(select(User.language).where(User.id == user_id)).scalar() \
        if user_id else None
    tenant = db.session.execute(select(Tenant.language).where(Tenant.id == tenant_id)).scalar()
    return user, tenant


def _run(job: ConnectJob, job_id: int, lineage: int, tenant_id: int, after: int) -> None:
    try:
        _connect_chunks(job, lineage, tenant_id, after)
        db.session.execute(update(ConnectJob).where(ConnectJob.id == job_id).values(
            status="done", finished_at=utcnow(), done=ConnectJob.total,
            skipped=ConnectJob.total - ConnectJob.connected))
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
            status="failed", error=_("Something went wrong; try again."),
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


def _count_upto(job: ConnectJob, last: int) -> int:
    if job.record_ids is not None:
        return sum(1 for i in job.record_ids if i <= last)
    return db.session.execute(select(func.count()).select_from(SegmentMember).where(
        SegmentMember.segment_id == job.segment_id, SegmentMember.record_id <= last)).scalar_one()


class _Progress:
    """The end of the chunks committed without a gap, written with the heartbeat."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.pending: list[tuple[int, object]] = []  # (chunk's last id, future or None)

    def started(self, last_id: int, future=None) -> None:
        self.pending.append((last_id, future))

    def beat(self, done_last: int | None = None) -> None:
        mark = done_last
        while self.pending and (self.pending[0][1] is None or self.pending[0][1].done()):
            last_id, future = self.pending.pop(0)
            if future is not None and future.exception() is not None:
                break
            mark = last_id
        values = {"heartbeat_at": utcnow()}
        if mark is not None:
            values["last_record_id"] = mark
        db.session.execute(update(ConnectJob).where(ConnectJob.id == self.job_id,
                                                    ConnectJob.status == "running")
                           .values(**values))
        db.session.commit()
        hooks.at("connect_progress", job_id=self.job_id, last_record_id=mark)


def _connect_chunks(job: ConnectJob, lineage: int, tenant_id: int, after: int = 0) -> None:
    """Every chunk connected and committed, in order (SQLite) or a few at once (PostgreSQL).
    An error stops the job once the chunks under way are done: it is raised here."""
    job_id, source, segment_id = job.id, "segment" if job.segment_id else "bulk", job.segment_id
    workers = database_workers()
    progress = _Progress(job_id)
    if workers == 1:
        for chunk in _record_chunks(job, after):
            _connect_chunk(job_id, lineage, chunk, source, segment_id)
            progress.beat(chunk[-1])
        return
    in_thread = in_own_session(
        lambda chunk: _connect_chunk(job_id, lineage, chunk, source, segment_id), tenant_id)
    with ThreadPoolExecutor(workers, thread_name_prefix="connect") as pool:
        running: set = set()
        for chunk in _record_chunks(job, after):  # read in the job's session, keyset by keyset
            if len(running) >= workers:
                finished, running = wait(running, return_when=FIRST_EXCEPTION)
                for future in finished:
                    future.result()  # an error stops the job here
                progress.beat()
            future = pool.submit(in_thread, chunk)
            progress.started(chunk[-1], future)
            running.add(future)
        for future in running:
            future.result()
        progress.beat()


def requeue_forgotten(tenant_id: int, older_than_seconds: float = FORGOTTEN_AFTER,
                      stalled_seconds: float = STALLED_AFTER) -> int:
    """Queued connect jobs whose RQ job was lost (Redis flushed or away) are enqueued again
    (a unique job id: one still waiting in Redis is left alone). Running jobs whose worker
    stopped beating are queued again (compare-and-set), their dead RQ job dropped, and
    enqueued: they go on after their last committed chunk."""
    from datetime import timedelta

    now = utcnow()
    stalled = db.session.execute(
        update(ConnectJob).where(ConnectJob.tenant_id == tenant_id,
                                 ConnectJob.status == "running",
                                 func.coalesce(ConnectJob.heartbeat_at, ConnectJob.created_at)
                                 < now - timedelta(seconds=stalled_seconds))
        .values(status="queued").returning(ConnectJob.id)).scalars().all()
    cutoff = now - timedelta(seconds=older_than_seconds)
    ids = db.session.execute(select(ConnectJob.id).where(
        ConnectJob.tenant_id == tenant_id, ConnectJob.status == "queued",
        ConnectJob.created_at < cutoff)).scalars().all()
    db.session.commit()
    for job_id in stalled:
        log.warning("connect job %s stopped beating; requeued", job_id)
        drop_connect_job(job_id)
    return sum(1 for job_id in set(ids) | set(stalled) if enqueue_connect(job_id, tenant_id))


QUEUE = "default"


def enqueue_connect(job_id: int, tenant_id: int) -> bool:
    try:
        Queue(QUEUE, connection=get_redis()).enqueue(
            run_connect_job, job_id, tenant_id, job_id=f"connect-{job_id}", unique=True,
            job_timeout=3600, result_ttl=0, failure_ttl=86400)
        return True
    except DuplicateJobError:
        return False
    except RedisError:
        log.warning("could not enqueue connect job %s; the tick will", job_id, exc_info=True)
        return False


def drop_connect_job(job_id: int) -> None:
    """Forget a dead worker's RQ job for this connect job, so it can be enqueued again."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        Job.fetch(f"connect-{job_id}", connection=get_redis()).delete()
    except (NoSuchJobError, RedisError):
        pass
