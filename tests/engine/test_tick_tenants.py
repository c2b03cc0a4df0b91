"""The tick visits only the tenants with work: idle tenants cost nothing, and each kind of work
(due runs, stale sends, segment events, forgotten connect jobs) still brings its tenant in, on
PostgreSQL and on SQLite (its own query)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace

from flask_migrate import upgrade
from sqlalchemy import event, select, update

from saas import create_app
from saas.auth.models import Tenant
from saas.demo import seed_demo
from saas.engine import clock
from saas.engine.connect import connect_many
from saas.engine.models import ConnectJob, Enrollment, StepRun
from saas.engine.tick import run_tick, tenants_with_work
from saas.extensions import db
from saas.records.models import Record
from saas.segments.models import Segment, SegmentEvent
from saas.tenancy import tenant_context
from saas.timeutil import utcnow
from tests.conftest import TEST_REDIS_URL, app_config
from tests.engine.factories import build_sequence


@contextmanager
def claims_seen(app):
    """The tenant of every claim statement the tick sends to the database."""
    tenants: list[int] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if "SKIP LOCKED" in statement and "claimed" in statement:
            tenants.append(parameters["tenant"])

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            yield tenants
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)


def connect_with_wait(app, tenant, record_ids, hours):
    with app.app_context(), tenant_context(tenant.id):
        seq = build_sequence([{"type": "wait", "config": {"hours": hours}}, {"type": "task"}])
        assert connect_many(record_ids, seq.lineage_id)["connected"] == len(record_ids)
        db.session.commit()
        return seq.id


def test_a_tick_visits_only_tenants_with_due_work(app, world, make_tenant, make_user,
                                                  add_records):
    def leads(tenant, n):
        return add_records(tenant, n, owner_id=make_user(tenant).id)

    idle = [make_tenant() for _ in range(25)]
    for tenant in idle[:5]:  # idle with history: work done long ago, nothing due
        connect_with_wait(app, tenant, leads(tenant, 1), hours=1)
    with app.app_context():
        clock.move_forward(timedelta(hours=2))
        run_tick()
    soon = connect_with_wait(app, world.tenant, world.add(3), hours=1)
    later_tenant = make_tenant("later")
    later = connect_with_wait(app, later_tenant, leads(later_tenant, 2), hours=3)

    with claims_seen(app) as claims:
        assert tenants_with_work(clock.now()) == []
        assert run_tick()["claimed"] == 0
    assert claims == []

    with app.app_context():
        clock.move_forward(timedelta(hours=1, minutes=1))
    with claims_seen(app) as claims:
        assert tenants_with_work(clock.now()) == [world.tenant.id]
        assert run_tick()["transitions"] == 3
    assert set(claims) == {world.tenant.id}

    with app.app_context():
        clock.move_forward(timedelta(hours=2))  # the later tenant's waits end now
    with claims_seen(app) as claims:
        assert tenants_with_work(clock.now()) == [later_tenant.id]
        assert run_tick()["transitions"] == 2
    assert set(claims) == {later_tenant.id}
    with app.app_context():
        for tenant, seq_id in ((world.tenant, soon), (later_tenant, later)):
            with tenant_context(tenant.id):
                assert db.session.execute(select(StepRun.status).where(
                    StepRun.sequence_id == seq_id, StepRun.step_type == "task")
                ).scalars().all() == ["open"] * (3 if seq_id == soon else 2)
                db.session.rollback()
        assert tenants_with_work(clock.now()) == []


def test_each_kind_of_work_brings_its_tenant_in(app, make_tenant, make_user, add_records):
    def leads(tenant, n):
        return add_records(tenant, n, owner_id=make_user(tenant).id)

    segment_events, stale_send, forgotten_job, paused_only, idle = (
        make_tenant(f"t{i}") for i in range(5))
    # A record joined a segment: the tick consumes the event.
    with app.app_context(), tenant_context(segment_events.id):
        segment = Segment(name="New", record_type="lead", status="active", rules={})
        db.session.add(segment)
        db.session.flush()
        db.session.add(SegmentEvent(segment_id=segment.id,
                                    record_id=leads(segment_events, 1)[0], kind="joined"))
        db.session.commit()
    # A send left `sending` by a dead worker, two hours ago.
    seq_id = connect_with_wait(app, stale_send, leads(stale_send, 1), hours=24)
    with app.app_context(), tenant_context(stale_send.id):
        db.session.execute(update(StepRun).where(StepRun.sequence_id == seq_id).values(
            status="sending", step_type="auto_email", started_at=clock.now() - timedelta(hours=2)))
        db.session.commit()
    # A connect job queued ten minutes ago whose RQ job was lost.
    with app.app_context(), tenant_context(forgotten_job.id):
        seq = build_sequence([{"type": "task"}])
        db.session.add(ConnectJob(sequence_id=seq.id, record_ids=[], status="queued",
                                  created_at=utcnow() - timedelta(minutes=10)))
        db.session.commit()
    # Overdue runs, but of a paused enrollment: nothing to do until it is resumed.
    connect_with_wait(app, paused_only, leads(paused_only, 1), hours=1)
    with app.app_context(), tenant_context(paused_only.id):
        db.session.execute(update(Enrollment).values(status="paused"))
        db.session.commit()
    connect_with_wait(app, idle, leads(idle, 1), hours=24)

    with app.app_context():
        clock.move_forward(timedelta(hours=2))
        assert tenants_with_work(clock.now()) == sorted(
            [segment_events.id, stale_send.id, forgotten_job.id])
        totals = run_tick()
        assert totals["recovered"] == 1
        with tenant_context(segment_events.id):
            assert db.session.execute(select(SegmentEvent.consumed_at)).scalar() is not None
            db.session.rollback()
        with tenant_context(stale_send.id):
            assert db.session.execute(select(StepRun.status)).scalar() != "sending"
            db.session.rollback()
        with tenant_context(paused_only.id):
            db.session.execute(update(Enrollment).values(status="active"))
            db.session.commit()
        assert paused_only.id in tenants_with_work(clock.now())
        db.session.rollback()


def test_on_sqlite_a_tenant_whose_work_falls_due_is_found_and_moved_on(tmp_path):
    app = create_app(app_config(DATABASE_URL=f"sqlite:///{tmp_path / 'tick.db'}",
                                REDIS_URL=TEST_REDIS_URL))
    with app.app_context():
        upgrade()
        assert seed_demo()
        demo = db.session.execute(select(Tenant.id).where(Tenant.slug == "demo")).scalar_one()
        with tenant_context(demo):
            ids = db.session.execute(select(Record.id).where(Record.owner_id.is_not(None))
                                     .order_by(Record.id).limit(3)).scalars().all()
        connect_with_wait(app, SimpleNamespace(id=demo), ids, hours=1)
        assert tenants_with_work(clock.now()) == []
        clock.move_forward(timedelta(hours=1, minutes=1))
        assert tenants_with_work(clock.now()) == [demo]
        assert run_tick()["transitions"] == 3
        assert tenants_with_work(clock.now()) == []
        db.session.remove()
