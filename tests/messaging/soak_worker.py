"""A worker process for the soak test: the engine's periodic work in a loop (the tick, then the
resend of silent `unknown` sends, as `saas.jobs.tick` runs them) until the stop file appears, the
deadline passes or it is SIGKILLed. The doctor is left out on purpose: it would repair what the
soak is there to find. Each tick's failed tenants are reported on stderr (captured by the test).
Configuration comes from SOAK_* variables; TEST_DATABASE_URL / TEST_REDIS_URL pick the database.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from saas import create_app
from saas.extensions import db
from tests.conftest import app_config


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    app = create_app(app_config(
        SENDGRID_BASE_URL=os.environ["SOAK_SENDGRID_URL"],
        PROVIDER_TIMEOUT_SECONDS=os.environ.get("SOAK_TIMEOUT", "0.3"), SEND_CONCURRENCY=8,
        SEND_CHUNK=int(os.environ.get("SOAK_CHUNK", "25")),
        SEND_RETRY_BASE_SECONDS=0.05, SEND_RETRY_MAX_SECONDS=0.5, SEND_MAX_ATTEMPTS=12,
        ENGINE_SENDING_LEASE=float(os.environ.get("SOAK_LEASE", "5")),
        UNKNOWN_RESEND_AFTER=float(os.environ.get("SOAK_RESEND_AFTER", "20")),
        ENGINE_BATCH_PER_TENANT=100,
        # SOAK_SENDS_OFF_TICK=1: sends go out in send jobs (as in production), which this
        # worker runs from the `sends` queue between ticks.
        SENDS_OFF_TICK=os.environ.get("SOAK_SENDS_OFF_TICK") == "1",
        SEND_JOB_BUDGET=3, SEND_JOB_STALE=4))
    stop = os.environ["SOAK_STOP_FILE"]
    deadline = time.monotonic() + float(os.environ.get("SOAK_MAX_SECONDS", "300"))
    from saas.engine.tick import run_tick
    from saas.engine.uncertain import resend_all_tenants

    with app.app_context():
        while time.monotonic() < deadline and not os.path.exists(stop):
            totals = run_tick(budget_seconds=3)
            if totals["failed_tenants"]:
                print(f"soak worker {os.getpid()}: failed_tenants={totals['failed_tenants']}",
                      file=sys.stderr, flush=True)
            if app.config["SENDS_OFF_TICK"]:
                _run_send_jobs(app)
            try:
                resend_all_tenants()
            except Exception:
                db.session.rollback()
                logging.getLogger("soak").exception("resend_all_tenants failed")
            db.session.remove()
            time.sleep(0.1)


def _run_send_jobs(app) -> None:
    from rq import Queue

    from saas.engine.send_jobs import QUEUE
    from saas.extensions import get_redis
    from worker.runner import AppWorker

    redis = get_redis()
    AppWorker([Queue(QUEUE, connection=redis)], connection=redis, app=app).work(
        burst=True, with_scheduler=False, logging_level="WARNING")


if __name__ == "__main__":
    main()
