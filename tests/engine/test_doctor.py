"""The doctor finds what breaks the engine's invariants, counts it, and repairs what it safely
can: a running connection whose current step ended without a next one is moved on; an ended
connection's live step is cancelled; two live steps are only counted."""

from __future__ import annotations

from sqlalchemy import select, update

from saas.config import JOB_TUNING
from saas.engine.connect import connect_many
from saas.engine.doctor import examine, last_report, periodic
from saas.engine.models import Enrollment, StepRun
from saas.extensions import db
from tests.engine.factories import build_sequence


def _runs(world, enrollment_id):
    with world.inside():
        return [(r.step_type, r.status) for r in db.session.execute(
            select(StepRun).where(StepRun.enrollment_id == enrollment_id)
            .order_by(StepRun.id)).scalars()]


def test_the_doctor_repairs_a_stranded_connection_and_an_ended_ones_live_step(app, world):
    ids = world.add(3)
    with world.inside():
        seq = build_sequence([{"type": "task", "name": "Research"},
                              {"type": "call", "name": "Call"}])
        connect_many(ids, seq.lineage_id)
        db.session.commit()
        stranded, ended, healthy = db.session.execute(
            select(Enrollment.id).order_by(Enrollment.id)).scalars().all()
        # A bug left `stranded` with its task done and nothing after it (what a lost race did
        # before), and `ended` exited with its task still open.
        db.session.execute(update(StepRun).where(StepRun.enrollment_id == stranded)
                           .values(status="completed", outcome="done"))
        db.session.execute(update(Enrollment).where(Enrollment.id == ended)
                           .values(status="exited", exit_reason="replied"))
        db.session.commit()
    with app.app_context():
        report = examine()
    assert report["stranded"] == 1 and report["repaired"] == 1
    assert report["ended_live"] == 1 and report["doubled"] == 0
    assert _runs(world, stranded) == [("task", "completed"), ("call", "open")]
    assert _runs(world, ended) == [("task", "cancelled")]
    assert _runs(world, healthy) == [("task", "open")]
    with app.app_context():
        assert examine() == {"doubled": 0, "expired_leases": 0, "stalled_jobs": 0,
                             "ended_live": 0, "stranded": 0, "repaired": 0}


def test_two_live_steps_are_counted_not_guessed_at(app, world):
    ids = world.add(1)
    with world.inside():
        seq = build_sequence([{"type": "task", "name": "Research"},
                              {"type": "call", "name": "Call"}])
        connect_many(ids, seq.lineage_id)
        db.session.commit()
        run = db.session.execute(select(StepRun)).scalar_one()
        enrollment_id = run.enrollment_id
        db.session.add(StepRun(enrollment_id=run.enrollment_id, step_id=run.step_id + 1,
                               sequence_id=run.sequence_id, record_id=run.record_id,
                               seller_id=run.seller_id, step_type="call", status="open",
                               due_at=run.due_at))
        db.session.commit()
    with app.app_context():
        report = examine()
    assert report["doubled"] == 1 and report["repaired"] == 0
    assert [status for _, status in _runs(world, enrollment_id)] == ["open", "open"]


def test_the_doctor_runs_once_per_period_as_its_own_job_and_keeps_its_report(app, world,
                                                                           redis_conn):
    from rq import Queue

    from worker.runner import AppWorker

    with app.app_context():
        app.config["DOCTOR_SECONDS"] = 300
        try:
            assert periodic() is True
            assert periodic() is False  # within the period: not again
        finally:
            app.config["DOCTOR_SECONDS"] = JOB_TUNING["DOCTOR_SECONDS"]
    AppWorker([Queue("default", connection=redis_conn)], connection=redis_conn,
              app=app).work(burst=True)
    with app.app_context():
        assert last_report()["stranded"] == 0
