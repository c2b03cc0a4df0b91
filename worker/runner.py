"""Builds the app, runs an RQ worker whose jobs run in an app context, and enqueues the tick."""

from __future__ import annotations

import logging
import threading

from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker
from rq.exceptions import DuplicateJobError

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


def enqueue_tick(queue: Queue) -> bool:
    """Enqueue one tick unless one is already waiting; safe from many processes at once."""
    try:
        queue.enqueue(tick, job_id=TICK_JOB_ID, unique=True, result_ttl=0, failure_ttl=300,
                      job_timeout=300)
    except DuplicateJobError:
        return False
    return True


def _ticker(queue: Queue, seconds: int, stop: threading.Event) -> None:
    while not stop.wait(seconds):
        try:
            enqueue_tick(queue)
        except Exception:  # a Redis blip must not end the ticker
            log.exception("could not enqueue the tick")


def run(app: Flask, *, burst: bool = False) -> None:
    redis = Redis.from_url(app.config["REDIS_URL"])
    queues = [Queue(name, connection=redis) for name in app.config["RQ_QUEUES"]]
    stop = threading.Event()
    if not burst:
        enqueue_tick(queues[0])
        threading.Thread(target=_ticker, args=(queues[0], app.config["TICK_SECONDS"], stop),
                         daemon=True, name="ticker").start()
    try:
        names = ", ".join(q.name for q in queues)
        log.warning("worker started on queues %s; ticking every %ss", names,
                    app.config["TICK_SECONDS"])
        AppWorker(queues, connection=redis, app=app).work(
            burst=burst, with_scheduler=True, logging_level=app.config["WORKER_LOG_LEVEL"])
    finally:
        stop.set()
