"""A worker killed in the middle of an import: nothing half-imported, a clear state, a way on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rq import Queue
from sqlalchemy import func, select

from saas import jobs
from saas.extensions import db
from saas.imports.models import ImportJob
from saas.records.models import Record
from saas.tenancy import tenant_context
from tests.conftest import app_config
from worker.runner import enqueue_tick

ROOT = Path(__file__).resolve().parents[2]


def big_file(rows: int) -> str:
    return "First name,Last name,Email,Phone,Lead source\n" + "".join(
        f"First{i},Last{i},person{i}@example.com,+3361{i:07d},Web\n" for i in range(rows))


def worker_env() -> dict:
    config = app_config()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env.update({k: config[k] for k in ("APP_ENV", "SECRET_KEY", "DATABASE_URL", "REDIS_URL",
                                       "ARGON2_TIME_COST", "ARGON2_MEMORY_COST")})
    return env


def state(app, tenant, import_id: int) -> tuple[ImportJob, int]:
    with app.app_context(), tenant_context(tenant.id):
        job = db.session.execute(select(ImportJob).where(ImportJob.id == import_id)).scalar_one()
        db.session.expunge(job)
        records = db.session.execute(select(func.count()).select_from(Record)).scalar_one()
        return job, records


def test_a_killed_worker_leaves_no_records_and_the_import_can_start_again(
        app, tenant, manager_client, start_import, run_jobs, redis_conn, monkeypatch):
    import_id = start_import("acme", big_file(60_000))
    worker = subprocess.Popen([sys.executable, "-m", "worker", "--burst"], cwd=ROOT,
                              env=worker_env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            job, _ = state(app, tenant, import_id)
            if job.processed_rows > 0 or time.monotonic() > deadline \
                    or worker.poll() is not None:
                break
            time.sleep(0.05)
        assert job.status == "running" and 0 < job.processed_rows < 60_000, \
            f"the worker was not caught in the middle: {job.status} {job.processed_rows}"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    # Thousands of rows were written when it died, in a transaction that died with it.
    job, records = state(app, tenant, import_id)
    assert (job.status, records) == ("running", 0)

    # The tick notices the heartbeat stopped and says what happened, in plain words.
    monkeypatch.setitem(app.config, "IMPORT_STALE_SECONDS", 0)
    assert enqueue_tick(Queue("default", connection=redis_conn))
    run_jobs()
    job, records = state(app, tenant, import_id)
    assert (job.status, records) == ("failed", 0)
    assert job.failure_reason == ("The import was interrupted; nothing was imported. "
                                  "Start it again.")
    page = manager_client.get(f"/acme/imports/{import_id}").get_data(as_text=True)
    assert "The import was interrupted; nothing was imported." in page
    assert "hx-trigger" not in page and "Start again" in page

    monkeypatch.setitem(app.config, "IMPORT_STALE_SECONDS", 120)
    response = manager_client.post(f"/acme/imports/{import_id}/restart")
    assert response.status_code == 302
    assert state(app, tenant, import_id)[0].status == "queued"
    run_jobs()
    job, records = state(app, tenant, import_id)
    assert (job.status, job.created_count, job.error_count, records) == \
        ("completed", 60_000, 0, 60_000)


def test_the_tick_enqueues_a_queued_import_whose_job_was_lost(
        app, tenant, start_import, run_jobs, redis_conn, monkeypatch):
    import_id = start_import("acme", big_file(3))
    redis_conn.flushdb()  # Redis lost everything: the database still knows the import waits
    monkeypatch.setitem(app.config, "IMPORT_STALE_SECONDS", 0)
    with app.app_context():
        jobs.tick()
    monkeypatch.setitem(app.config, "IMPORT_STALE_SECONDS", 120)
    run_jobs()
    job, records = state(app, tenant, import_id)
    assert (job.status, records) == ("completed", 3)


def test_a_running_import_with_a_recent_heartbeat_is_left_alone(
        app, tenant, start_import, redis_conn):
    import_id = start_import("acme", big_file(3))
    with app.app_context(), tenant_context(tenant.id):
        job = db.session.execute(select(ImportJob).where(ImportJob.id == import_id)).scalar_one()
        job.status = "running"
        db.session.commit()
    with app.app_context():
        jobs.tick()
    assert state(app, tenant, import_id)[0].status == "running"
