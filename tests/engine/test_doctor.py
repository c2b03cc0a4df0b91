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


def test_the_doctor_settles_an_expired_sending_lease_and_requeues_a_stalled_connect_job(
        app, world, redis_conn):
    """A worker died after claiming an email (its run left `sending`, the lease ran out), and
    another died in the middle of a connect job (`running`, no heartbeat since). The doctor
    counts both and repairs both: the email goes again (nothing had left: the outbox has no
    message for it) and is sent once; the job is queued again and finishes after its last
    committed chunk, each record connected once."""
    from datetime import timedelta

    from rq import Queue
    from sqlalchemy import func

    from saas.engine import clock, connect_job, hooks
    from saas.engine.models import ConnectJob
    from saas.engine.send_moves import lease_seconds
    from saas.engine.tick import run_tick
    from saas.messaging.models import OutboxMessage
    from saas.templates_.models import MessageTemplate
    from saas.timeutil import utcnow
    from worker.runner import AppWorker

    emailed, *later = world.add(31)
    with world.inside():
        template = MessageTemplate(kind="email", name="Hello", subject="Hi",
                                   html_body="<p>Hello</p>", text_body="")
        db.session.add(template)
        db.session.flush()
        mail = build_sequence([{"type": "auto_email", "name": "Hello",
                                "config": {"template_id": template.id}},
                               {"type": "task", "name": "Call"}])
        connect_many([emailed], mail.lineage_id)
        task = build_sequence([{"type": "task", "name": "Say hello"}])
        connect_many(later[:10], task.lineage_id)  # the chunk the dead worker committed
        db.session.commit()
        task_id = task.id
        sending = db.session.execute(select(Enrollment.id).where(
            Enrollment.record_id == emailed)).scalar_one()

    class Died(Exception):
        pass

    def die(**_):
        raise Died
    hooks.install("after_claim", die)  # claimed and committed, then the worker died
    with app.app_context():
        run_tick()
    hooks.clear()
    assert _runs(world, sending) == [("auto_email", "sending")]
    with world.inside():  # the connect job's worker died too (after that tick)
        job = ConnectJob(sequence_id=task_id, record_ids=later, total=30, status="running",
                         done=10, connected=10, last_record_id=later[9],
                         heartbeat_at=utcnow() - timedelta(
                             seconds=connect_job.STALLED_AFTER + 1))
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    with app.app_context():
        clock.move_forward(timedelta(seconds=lease_seconds() + 1))
        report = examine()
    assert report["expired_leases"] == 1 and report["stalled_jobs"] == 1
    assert report["repaired"] == 2 and report["stranded"] == 0
    assert _runs(world, sending) == [("auto_email", "pending")]  # goes again
    AppWorker([Queue("default", connection=redis_conn)], connection=redis_conn,
              app=app).work(burst=True)
    with app.app_context():
        run_tick()
    assert _runs(world, sending) == [("auto_email", "sent"), ("task", "open")]
    with world.inside():
        assert db.session.execute(select(func.count()).select_from(OutboxMessage)
                                  ).scalar_one() == 1
        job = db.session.get(ConnectJob, job_id)
        assert (job.status, job.done, job.connected) == ("done", 30, 30)
        per_record = dict(db.session.execute(
            select(Enrollment.record_id, func.count()).where(Enrollment.record_id.in_(later))
            .group_by(Enrollment.record_id)).all())
    assert sorted(per_record) == sorted(later) and set(per_record.values()) == {1}
    with app.app_context():
        assert examine() == {"doubled": 0, "expired_leases": 0, "stalled_jobs": 0,
                             "ended_live": 0, "stranded": 0, "repaired": 0}
