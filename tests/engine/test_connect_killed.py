"""A real SIGKILL during a big connect job: an RQ worker process (tests/engine/killed_worker.py)
connects 2,000 records in chunks and is killed after a few chunks committed, in the middle of
the job. The job stays `running` without a heartbeat; once it is taken as stalled the tick
requeues it, a restarted worker process finishes it, and every record is connected once."""

# ruff: noqa: S603 - the command is this Python and this project's module.

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

from sqlalchemy import func, select, update

from saas.engine import connect_job
from saas.engine.models import ConnectJob, Enrollment, StepRun
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.timeutil import utcnow
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.engine.factories import build_sequence

RECORDS = 2000
CHUNK = 200
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def killed_worker(mode: str, **env) -> subprocess.Popen:
    """tests/engine/killed_worker.py in its own process (KILLED_* settings from `env`)."""
    environ = {**os.environ, "TEST_DATABASE_URL": TEST_DATABASE_URL,
               "TEST_REDIS_URL": TEST_REDIS_URL, "KILLED_MODE": mode,
               **{f"KILLED_{k.upper()}": str(v) for k, v in env.items()}}
    return subprocess.Popen([sys.executable, "-m", "tests.engine.killed_worker"], cwd=ROOT,
                            env=environ)


def kill_when_ready(process: subprocess.Popen, ready: str, limit: float = 30) -> None:
    """SIGKILL the process once it stands at its point (it touched `ready`)."""
    deadline = time.monotonic() + limit
    while not os.path.exists(ready):
        assert process.poll() is None, "the worker ended before its point"
        assert time.monotonic() < deadline, "the worker never reached its point"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_a_worker_killed_mid_connect_job_restarts_and_connects_each_record_once(
        app, world, redis_conn, tmp_path):
    ids = world.add(RECORDS)
    with world.inside():
        seq = build_sequence([{"type": "task", "name": "Say hello"}])
        job = ConnectJob(sequence_id=seq.id, record_ids=ids, total=len(ids))
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    with app.app_context():
        assert connect_job.enqueue_connect(job_id, world.tenant.id)
    ready = str(tmp_path / "ready")
    kill_when_ready(killed_worker("connect", chunk=CHUNK, at=4, ready=ready), ready)
    with world.inside():
        job = db.session.get(ConnectJob, job_id)
        connected = db.session.execute(select(func.count()).select_from(Enrollment)
                                       ).scalar_one()
        assert job.status == "running" and job.last_record_id in ids
        assert 0 < job.connected == connected < RECORDS  # killed in the middle
        # The worker is gone: no heartbeat for longer than STALLED_AFTER.
        db.session.execute(update(ConnectJob).where(ConnectJob.id == job_id).values(
            heartbeat_at=utcnow() - timedelta(seconds=connect_job.STALLED_AFTER + 1)))
        db.session.commit()
    with app.app_context():
        run_tick()  # requeues the stalled job (its dead RQ job dropped)
    restarted = killed_worker("connect", chunk=CHUNK)
    assert restarted.wait(timeout=60) == 0
    with world.inside():
        job = db.session.get(ConnectJob, job_id)
        assert (job.status, job.done, job.connected, job.skipped) == ("done", RECORDS,
                                                                       RECORDS, 0)
        per_record = dict(db.session.execute(select(Enrollment.record_id, func.count())
                                             .group_by(Enrollment.record_id)).all())
        runs = db.session.execute(select(func.count()).select_from(StepRun)).scalar_one()
    assert sorted(per_record) == sorted(ids) and set(per_record.values()) == {1}
    assert runs == RECORDS
