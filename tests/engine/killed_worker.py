"""A worker process that a test SIGKILLs at a chosen point of its work (a real kill: no cleanup
code runs, its connections drop). KILLED_MODE picks the work:

- `send`: one tick that delivers the due sends itself (SEND_CHUNK=KILLED_CHUNK messages a
  chunk); at the `after_call` hook point of chunk KILLED_AT (the provider has answered, the
  outcomes are not written) it touches KILLED_READY and sleeps: the test kills it there.
- `connect`: an RQ SimpleWorker (the project's AppWorker) on the default queue, in burst
  (connect_job.CHUNK=KILLED_CHUNK records a chunk); at its KILLED_AT-th `connect_progress` beat
  (a chunk committed) it touches KILLED_READY and sleeps.

Without KILLED_AT it works to the end and exits (the restarted worker). The provider URL is
KILLED_SENDGRID_URL; TEST_DATABASE_URL / TEST_REDIS_URL pick the database."""

from __future__ import annotations

import os
import pathlib
import time

from saas import create_app
from saas.engine import hooks
from tests.conftest import app_config


def _stop_at(point: str, nth: int, ready: str) -> None:
    seen = []

    def hook(**_):
        seen.append(True)
        if len(seen) == nth:
            pathlib.Path(ready).touch()
            time.sleep(60)  # killed here
    hooks.install(point, hook)


def main() -> None:
    mode = os.environ["KILLED_MODE"]
    chunk = int(os.environ.get("KILLED_CHUNK", "5"))
    app = create_app(app_config(
        SENDGRID_BASE_URL=os.environ.get("KILLED_SENDGRID_URL", "http://127.0.0.1:9"),
        PROVIDER_TIMEOUT_SECONDS=2, SEND_CHUNK=chunk, SEND_CONCURRENCY=8))
    if os.environ.get("KILLED_AT"):
        _stop_at("after_call" if mode == "send" else "connect_progress",
                 int(os.environ["KILLED_AT"]), os.environ["KILLED_READY"])
    with app.app_context():
        if mode == "send":
            from saas.engine.tick import run_tick

            run_tick(budget_seconds=30)
            return
        from rq import Queue

        from saas.engine import connect_job
        from saas.extensions import get_redis
        from worker.runner import AppWorker

        connect_job.CHUNK = chunk
        redis = get_redis()
        AppWorker([Queue(connect_job.QUEUE, connection=redis)], connection=redis,
                  app=app).work(burst=True, with_scheduler=False, logging_level="WARNING")


if __name__ == "__main__":
    main()
