"""Sending off the tick (SENDS_OFF_TICK): the tick moves sequences on and only enqueues send
sweeps, one job per shard of tenants; a sweep claims and delivers its tenants' sends in turn
(tests/messaging/test_send_sweeps.py). A slow provider of one tenant never delays another's
steps, a lost job costs nothing (the next tick enqueues it again), and a shard never has two
sweeps at once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import select

from saas.config import JOB_TUNING
from saas.engine import clock
from saas.engine.models import StepRun
from saas.engine.send_jobs import QUEUE, enqueue_for, enqueue_sweeps, job_id, send_due, shard_of
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.tenancy import tenant_context
from tests.messaging import builders
from worker.runner import AppWorker


@pytest.fixture
def off_tick(app):
    app.config["SENDS_OFF_TICK"] = True
    yield
    app.config["SENDS_OFF_TICK"] = False


def _connect(app, tenant_id, emails, specs=None):
    with app.app_context(), tenant_context(tenant_id):
        template = builders.email_template()
        seq = builders.sequence(specs or [
            {"type": "auto_email", "config": {"template_id": template.id}},
            {"type": "task", "name": "Call them"}])
        runs = builders.connect([builders.lead(e) for e in emails], seq)
        db.session.commit()
        return [r.id for r in runs]


def _statuses(app, tenant_id):
    with app.app_context(), tenant_context(tenant_id):
        return sorted(db.session.execute(select(StepRun.step_type, StepRun.status)).all())


def _work(app, redis_conn):
    AppWorker([Queue(QUEUE, connection=redis_conn)], connection=redis_conn,
              app=app).work(burst=True)


def test_the_tick_enqueues_and_the_send_job_delivers(app, off_tick, sendgrid_tenant, fake,
                                                     redis_conn):
    _connect(app, sendgrid_tenant.id, ["ann@example.com", "bob@example.com"])
    with app.app_context():
        totals = run_tick()
    assert totals["send_jobs"] == 1 and totals["sends"] == 0
    assert fake.emails() == []  # no provider call inside the tick
    assert _statuses(app, sendgrid_tenant.id) == [("auto_email", "pending")] * 2
    with app.app_context():  # while the job is queued, the next tick adds none
        assert run_tick()["send_jobs"] == 0
    _work(app, redis_conn)
    assert len(fake.emails()) == 2
    assert _statuses(app, sendgrid_tenant.id) == [("auto_email", "sent")] * 2 + [
        ("task", "open")] * 2


def test_a_job_lost_with_redis_is_enqueued_again_and_sends_once(app, off_tick, sendgrid_tenant,
                                                                fake, redis_conn):
    _connect(app, sendgrid_tenant.id, ["ann@example.com"])
    with app.app_context():
        assert run_tick()["send_jobs"] == 1
    redis_conn.flushdb()  # the job is gone; nothing was claimed
    assert _statuses(app, sendgrid_tenant.id) == [("auto_email", "pending")]
    with app.app_context():
        assert run_tick()["send_jobs"] == 1
    _work(app, redis_conn)
    _work(app, redis_conn)
    assert len(fake.emails()) == 1


def test_a_slow_provider_of_one_tenant_does_not_delay_anothers_steps(
        app, off_tick, sendgrid_tenant, make_tenant, make_user, add_records, fake, redis_conn):
    """Tenant A's provider answers after its timeout for every message; tenant B has waits that
    fall due. The tick moves B on at once, without calling A's provider."""
    from saas.auth.models import Role
    from saas.engine.connect import connect_many
    from tests.engine.factories import build_sequence

    fake.set_failure_rate(1.0, ("timeout",))
    _connect(app, sendgrid_tenant.id, [f"a{i}@example.com" for i in range(20)])
    other = make_tenant("calm")
    ids = add_records(other, 5, owner_id=make_user(other, roles=[Role.SELLER]).id)
    with app.app_context(), tenant_context(other.id):
        seq = build_sequence([{"type": "wait", "config": {"hours": 1}}, {"type": "task"}])
        connect_many(ids, seq.lineage_id)
        db.session.commit()
    with app.app_context():
        clock.move_forward(timedelta(hours=2))
        totals = run_tick()
    assert totals["transitions"] == 5 and totals["send_jobs"] >= 1  # and B's shard, maybe
    assert fake.request_count == 0  # A's slow provider was not called in the tick
    assert _statuses(app, other.id) == [("task", "open")] * 5 + [("wait", "completed")] * 5


def test_one_sweep_per_shard(app, off_tick, sendgrid_tenant, redis_conn):
    with app.app_context():
        shard = shard_of(sendgrid_tenant.id)
        assert enqueue_sweeps([shard, shard]) == 1
        assert enqueue_for([sendgrid_tenant.id]) == 0
        queue = Queue(QUEUE, connection=redis_conn)
        assert queue.job_ids == [job_id(shard)] == [f"send-sweep-{shard}"]


def test_the_send_job_leaves_paused_connections_and_settles_what_cannot_be_made(
        app, off_tick, sendgrid_tenant, fake):
    """The job claims only active connections' due sends (a paused one's is held, out of its
    reach); a message that cannot be made fails with its reason and the sequence goes on."""
    from saas.engine import services
    from saas.engine.models import Enrollment

    _connect(app, sendgrid_tenant.id, ["ann@example.com", "bob@example.com"],
             specs=[{"type": "auto_email", "config": {"template_id": None}},
                    {"type": "task", "name": "Call them"}])
    with app.app_context(), tenant_context(sendgrid_tenant.id):
        services.pause(db.session.execute(select(Enrollment).order_by(Enrollment.id)
                                          ).scalars().first())
    with app.app_context():
        totals = send_due(sendgrid_tenant.id, budget=5)
    assert totals["claimed"] == 1 and fake.emails() == []
    assert _statuses(app, sendgrid_tenant.id) == [("auto_email", "failed"),
                                                  ("auto_email", "pending"), ("task", "open")]


@pytest.mark.parametrize("step", [1, 2, 1000, 64])
def test_shards_share_tenants_evenly_whatever_their_ids_step(app, step):
    """Tenant ids that go up by a common step (1,000 in bench_tenants; a sequence's increment)
    spread over every shard, not all into one (the id modulo 2 gave one sweep all of them)."""
    try:
        with app.app_context():
            for shards in (2, 3, 4):
                app.config["SEND_SWEEP_SHARDS"] = shards
                counts = Counter(shard_of(1 + step * k) for k in range(3000))
                assert sorted(counts) == list(range(shards))
                assert min(counts.values()) >= 3000 / shards * 0.9
    finally:
        app.config["SEND_SWEEP_SHARDS"] = JOB_TUNING["SEND_SWEEP_SHARDS"]


def test_many_tenants_cost_one_job_per_shard(app, off_tick, redis_conn):
    """Ten thousand tenants with due sends are as many jobs as there are shards (the sweeps
    serve them in turn), and shards whose sweep is queued are skipped after one read."""
    app.config["SEND_SWEEP_SHARDS"] = 3
    try:
        with app.app_context():
            assert enqueue_for(list(range(1, 10_001))) == 3
            assert enqueue_for(list(range(1, 10_001))) == 0
    finally:
        app.config["SEND_SWEEP_SHARDS"] = JOB_TUNING["SEND_SWEEP_SHARDS"]
    assert sorted(Queue(QUEUE, connection=redis_conn).job_ids) == [
        "send-sweep-0", "send-sweep-1", "send-sweep-2"]


def test_a_job_that_ends_while_the_tick_looks_at_it_is_replaced(app, off_tick, sendgrid_tenant,
                                                                redis_conn, monkeypatch):
    """Found by the soak: the shard's job existed when the tick tried to enqueue one, then
    finished (and, with no result kept, was removed) before the tick read its status. The
    tick must take it as gone and enqueue a new one, not crash."""
    from rq.job import Job

    _connect(app, sendgrid_tenant.id, ["ann@example.com"])
    with app.app_context():
        assert enqueue_for([sendgrid_tenant.id]) == 1
        sweep = job_id(shard_of(sendgrid_tenant.id))
    Job.fetch(sweep, connection=redis_conn).set_status("started")  # running
    fetch = Job.fetch

    def fetch_then_finish(job_key, connection=None, **kwargs):
        job = fetch(job_key, connection=connection, **kwargs)
        fetch(job_key, connection=connection).delete()  # the job ends meanwhile
        return job

    monkeypatch.setattr(Job, "fetch", staticmethod(fetch_then_finish))
    with app.app_context():
        assert enqueue_for([sendgrid_tenant.id]) == 1
    monkeypatch.undo()
    assert Job.fetch(sweep, connection=redis_conn).get_status() == "queued"


def test_a_tenant_with_only_sends_due_is_not_the_ticks_work(app, off_tick, sendgrid_tenant,
                                                           redis_conn):
    """Measured by bench_tenants: with 2,000 tenants each with an email due, every tick visited
    each of them to claim nothing (its claim leaves pending sends to the sweeps), 5 to 11 s a
    tick. Such a tenant is the sweeps' work only; a due wait makes it the tick's again."""
    from saas.engine.tick_work import tenants_with_work

    _connect(app, sendgrid_tenant.id, ["ann@example.com"])
    with app.app_context():
        assert tenants_with_work(clock.now()) == []
        totals = run_tick()
    assert totals["rounds"] == 0 and totals["send_jobs"] == 1
    app.config["SENDS_OFF_TICK"] = False
    with app.app_context():
        assert tenants_with_work(clock.now()) == [sendgrid_tenant.id]


def test_an_email_after_a_wait_gets_its_sweep_in_the_same_tick(app, off_tick, sendgrid_tenant,
                                                               fake, redis_conn):
    """At the tick's start nothing is to send; its round ends the wait and makes the email
    due: the tick enqueues the tenant's sweep then, not a tick (or a whole budget) later."""
    _connect(app, sendgrid_tenant.id, ["ann@example.com"], specs=[
        {"type": "wait", "config": {"hours": 1}},
        {"type": "auto_email", "config": {"template_id": None}},
        {"type": "task", "name": "Call them"}])
    with app.app_context():
        clock.move_forward(timedelta(hours=2))
        totals = run_tick()
        shard = shard_of(sendgrid_tenant.id)
    assert totals["transitions"] == 1 and totals["send_jobs"] == 1
    assert Queue(QUEUE, connection=redis_conn).job_ids == [job_id(shard)]
    _work(app, redis_conn)  # the step has no template: it fails with its reason, and moves on
    assert _statuses(app, sendgrid_tenant.id) == [("auto_email", "failed"), ("task", "open"),
                                                  ("wait", "completed")]
