"""The one lock order (saas/engine/__init__.py): the tick never waits for an enrollment a person
or a webhook holds (its claim skips it), so a pause or an exit in progress can neither block the
tick for every tenant nor deadlock with it; what it skipped it finds at the next tick."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from saas.engine import clock
from saas.engine.connect import connect_many
from saas.engine.lifecycle import end_enrollments
from saas.engine.models import Enrollment, StepRun
from saas.engine.tick import run_tick
from saas.extensions import db
from tests.engine.factories import build_sequence


def test_the_tick_skips_an_enrollment_held_by_an_exit_and_never_waits(app, world):
    ids = world.add(2)
    with world.inside():
        seq = build_sequence([{"type": "wait", "config": {"hours": 1}},
                              {"type": "task", "name": "Call"}])
        connect_many(ids, seq.lineage_id)
        db.session.commit()
        held, free = db.session.execute(select(Enrollment.id).order_by(Enrollment.id)
                                        ).scalars().all()
    with app.app_context():
        clock.move_forward(timedelta(hours=2))
    locked, release, done = threading.Event(), threading.Event(), threading.Event()

    def exit_in_progress():  # a reply webhook's transaction, slow to commit
        with world.inside():
            db.session.execute(select(Enrollment.id).where(Enrollment.id == held)
                               .with_for_update())
            locked.set()
            release.wait(30)
            end_enrollments([held], "exited", "replied")
            db.session.commit()
            done.set()
    thread = threading.Thread(target=exit_in_progress)
    thread.start()
    assert locked.wait(10)
    try:
        with app.app_context():
            totals = run_tick(budget_seconds=5)  # returns although `held` is locked
        assert totals["claimed"] == 1 and totals["failed_tenants"] == 0
    finally:
        release.set()
        thread.join(30)
    assert done.is_set()
    with app.app_context():
        run_tick(budget_seconds=5)
    with world.inside():
        runs = {e: [(r.step_type, r.status) for r in db.session.execute(
            select(StepRun).where(StepRun.enrollment_id == e).order_by(StepRun.id)).scalars()]
            for e in (held, free)}
        statuses = dict(db.session.execute(select(Enrollment.id, Enrollment.status)).all())
    assert statuses == {held: "exited", free: "active"}
    assert runs[held] == [("wait", "cancelled")]
    assert runs[free] == [("wait", "completed"), ("task", "open")]


def test_a_failing_tenant_does_not_stop_the_others(app, world, make_tenant, add_records,
                                                   make_user, monkeypatch):
    """One tenant's batch raises: it is rolled back, logged and counted; the other tenant's
    work is done in the same tick."""
    from saas.auth.models import Role
    from saas.engine import tick
    from saas.tenancy import tenant_context

    other = make_tenant("other")
    other_seller = make_user(other, roles=[Role.SELLER])
    for tenant, seller, n in ((world.tenant, world.seller, 1), (other, other_seller, 1)):
        ids = add_records(tenant, n, owner_id=seller.id)
        with app.app_context(), tenant_context(tenant.id):
            seq = build_sequence([{"type": "wait", "config": {"hours": 1}}, {"type": "task"}])
            connect_many(ids, seq.lineage_id)
            db.session.commit()
    with app.app_context():
        clock.move_forward(timedelta(hours=2))
    real = tick.process_batch

    def broken(tenant_id, *args):
        if tenant_id == world.tenant.id:
            raise RuntimeError("a bug in one tenant's data")
        return real(tenant_id, *args)
    monkeypatch.setattr(tick, "process_batch", broken)
    with app.app_context():
        totals = run_tick(budget_seconds=5)
    assert totals["failed_tenants"] >= 1 and totals["transitions"] == 1
    with app.app_context(), tenant_context(other.id):
        assert db.session.execute(select(StepRun.status).where(StepRun.step_type == "task")
                                  ).scalar_one() == "open"
