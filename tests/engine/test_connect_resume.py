"""A connect job whose worker dies mid-run (a deploy's SIGKILL: no cleanup code runs) stays
`running` without a heartbeat; the tick requeues it and it goes on after its last committed
chunk: every record connected once, progress counted once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import func, select, update

from saas.engine import connect_job, hooks
from saas.engine.models import ConnectJob, Enrollment, StepRun
from saas.extensions import db
from saas.tenancy import tenant_context
from saas.timeutil import utcnow
from tests.engine.factories import build_sequence
from worker.runner import AppWorker


class Killed(BaseException):
    """What SIGKILL does to the job: it stops where it is; no `except Exception` runs."""


@pytest.mark.parametrize("workers", [1, 2])
def test_a_killed_connect_job_resumes_after_its_last_chunk(app, world, redis_conn, monkeypatch,
                                                           workers):
    ids = world.add(40)
    monkeypatch.setattr(connect_job, "CHUNK", 5)
    monkeypatch.setitem(app.config, "ENGINE_TICK_WORKERS", workers)
    with world.inside():
        seq = build_sequence([{"type": "task", "name": "Say hello"}])
        job = ConnectJob(sequence_id=seq.id, record_ids=ids, total=len(ids))
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    beats = []

    def die_after_three(**context):
        beats.append(context["last_record_id"])
        if len(beats) == 3:
            raise Killed
    hooks.install("connect_progress", die_after_three)
    with app.app_context(), pytest.raises(Killed):
        connect_job.run_connect_job(job_id, world.tenant.id)
    hooks.clear()
    with world.inside():
        job = db.session.get(ConnectJob, job_id)
        assert job.status == "running" and job.last_record_id is not None
        assert 0 < job.connected < len(ids)
        resumed_after = job.last_record_id
        # The worker is gone: no heartbeat for longer than STALLED_AFTER.
        db.session.execute(update(ConnectJob).where(ConnectJob.id == job_id).values(
            heartbeat_at=utcnow() - timedelta(seconds=connect_job.STALLED_AFTER + 1)))
        db.session.commit()
    from saas.engine.tick import run_tick

    with app.app_context():
        run_tick()  # requeues the stalled job
    AppWorker([Queue("default", connection=redis_conn)], connection=redis_conn,
           app=app).work(burst=True)
    with world.inside():
        job = db.session.get(ConnectJob, job_id)
        assert (job.status, job.done, job.connected, job.skipped) == ("done", 40, 40, 0)
        per_record = dict(db.session.execute(select(Enrollment.record_id, func.count())
                                             .group_by(Enrollment.record_id)).all())
        runs = db.session.execute(select(func.count()).select_from(StepRun)).scalar_one()
    assert sorted(per_record) == sorted(ids) and set(per_record.values()) == {1}
    assert runs == 40
    assert resumed_after in ids


def test_a_running_job_with_a_live_heartbeat_is_left_alone(app, world, redis_conn):
    ids = world.add(3)
    with world.inside():
        seq = build_sequence([{"type": "task"}])
        job = ConnectJob(sequence_id=seq.id, record_ids=ids, total=3, status="running",
                         heartbeat_at=utcnow(), created_at=utcnow() - timedelta(hours=1))
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    with app.app_context(), tenant_context(world.tenant.id):
        assert connect_job.requeue_forgotten(world.tenant.id) == 0
        assert db.session.get(ConnectJob, job_id).status == "running"
