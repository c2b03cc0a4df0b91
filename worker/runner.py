"""Builds the app, runs an RQ worker whose jobs run in an app context, and enqueues the tick."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus

from saas.jobs import tick

log = logging.getLogger("worker")
TICK_JOB_ID = "saas-tick"


class AppWorker(SimpleWorker):
    """Runs each job in a fresh app context (a clean session, `g` and tenant context per job).

    SimpleWorker (no fork per job) keeps the database pool warm; run several worker processes
    for parallelism and isolation.
    """

    def __init__(self, *args, app: Flask, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = app

    def execute_job(self, job, queue):
        with self.app.app_context():
            return super().execute_job(job, queue)


def enqueue_tick(queue: Queue, stale_after: float = 60.0) -> bool:
    """Enqueue one tick unless one is already waiting; safe from many processes at once.

    A tick job left behind by a worker that died mid-tick (still `started` after `stale_after`
    seconds) or that failed would block the ticks: it is removed and a fresh one enqueued. The
    tick is safe to run twice at once, so misjudging a slow tick costs nothing but work."""
    for attempt in range(2):
        try:
            queue.enqueue(tick, job_id=TICK_JOB_ID, unique=True, result_ttl=0, failure_ttl=300,
                          job_timeout=300)
            return True
        except DuplicateJobError:
            if attempt or not _tick_job_is_dead(queue, stale_after):
                return False
    return False


def _tick_job_is_dead(queue: Queue, stale_after: float) -> bool:
    try:
        job = Job.fetch(TICK_JOB_ID, connection=queue.connection)
    except NoSuchJobError:
        return True
    status = job.get_status(refresh=False)
    if status in (JobStatus.STARTED, JobStatus.QUEUED):
        if status == JobStatus.QUEUED and job.get_position() is not None:
            return False  # waiting in the queue: a worker will take it
        # Started, or taken off the queue by a worker that died before starting it.
        since = job.started_at or job.enqueued_at
        if since is not None and (datetime.now(UTC) - since.replace(tzinfo=UTC)
                                  ).total_seconds() < stale_after:
            return False
    elif status in (JobStatus.SCHEDULED, JobStatus.DEFERRED):
        return False
    job.delete()
    return True


def _ticker(queue: Queue, seconds: int, stop: threading.Event, stale_after: float) -> None:
    while not stop.wait(seconds):
        try:
            enqueue_tick(queue, stale_after)
        except Exception:  # a Redis blip must not end the ticker
            log.exception("could not enqueue the tick")


def run(app: Flask, *, burst: bool = False) -> None:
    redis = Redis.from_url(app.config["REDIS_URL"])
    queues = [Queue(name, connection=redis) for name in app.config["RQ_QUEUES"]]
    stop = threading.Event()
    stale_after = float(app.config["ENGINE_TICK_STALE"])
    if not burst:
        enqueue_tick(queues[0], stale_after)
        threading.Thread(target=_ticker,
                         args=(queues[0], app.config["TICK_SECONDS"], stop, stale_after),
                         daemon=True, name="ticker").start()
    try:
        names = ", ".join(q.name for q in queues)
        log.warning("worker started on queues %s; ticking every %ss", names,
                    app.config["TICK_SECONDS"])
        # No RQ scheduler: nothing is enqueued for later (the database holds due times and the
        # ticker thread above is the clock), and its forked process would outlive a killed worker.
        AppWorker(queues, connection=redis, app=app).work(
            burst=burst, with_scheduler=False, logging_level=app.config["WORKER_LOG_LEVEL"])
    finally:
        stop.set()
