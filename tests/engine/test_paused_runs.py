"""A paused enrollment costs a tick nothing: its waiting or pending run leaves the tick's due
index (its due time kept aside) and comes back on resume with its due time kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from saas.engine import clock, services
from saas.engine.connect import connect_many
from saas.engine.models import Enrollment, StepRun
from saas.engine.tick import run_tick, tenants_with_work
from saas.extensions import db
from tests.engine.factories import build_sequence


def _runs(world):
    with world.inside():
        return [(r.step_type, r.status, r.due_at, r.held_due_at) for r in db.session.execute(
            select(StepRun).order_by(StepRun.id)).scalars()]


def _connect(world, n=1):
    ids = world.add(n)
    with world.inside():
        seq = build_sequence([{"type": "wait", "config": {"hours": 1}},
                              {"type": "task", "name": "Call"}])
        connect_many(ids, seq.lineage_id)
        db.session.commit()
        return seq.lineage_id, db.session.execute(
            select(Enrollment.id).order_by(Enrollment.id)).scalars().all()


def _act(world, enrollment_id, action):
    with world.inside():
        action(db.session.execute(select(Enrollment).where(Enrollment.id == enrollment_id)
                                  ).scalar_one())


def test_pause_takes_the_run_out_of_the_due_index_and_resume_puts_it_back(app, world):
    _, (enrollment_id,) = _connect(world)
    [(_, _, due, _)] = _runs(world)
    _act(world, enrollment_id, services.pause)
    assert _runs(world) == [("wait", "waiting", None, due)]
    with app.app_context():
        clock.move_forward(timedelta(hours=2))
        assert tenants_with_work(clock.now()) == []  # overdue, but paused: no work
        assert run_tick()["claimed"] == 0
    _act(world, enrollment_id, services.resume)
    assert _runs(world) == [("wait", "waiting", due, None)]
    with app.app_context():
        assert tenants_with_work(clock.now()) == [world.tenant.id]
        assert run_tick()["transitions"] == 1
    assert [r[:2] for r in _runs(world)] == [("wait", "completed"), ("task", "open")]


def test_bulk_pause_and_resume_hold_and_release_every_run(app, world):
    lineage, ids = _connect(world, 3)
    with world.inside():
        assert services.bulk_action(lineage, ids[:2], "pause") == 2
    held = [r for r in _runs(world) if r[3] is not None]
    assert len(held) == 2 and all(r[2] is None for r in held)
    with world.inside():
        assert services.bulk_action(lineage, ids[:2], "resume") == 2
    assert all(r[2] is not None and r[3] is None for r in _runs(world))


def test_a_paused_enrollment_that_moves_on_gets_a_held_run(app, world):
    """A send that ends while its enrollment is paused moves it on: the next run (here a wait)
    is written held, out of the due index, and due after resume."""
    from saas.engine.bulk import advance_group
    from saas.engine.graph import load_graph

    ids = world.add(1)
    with world.inside():
        seq = build_sequence([{"type": "task", "name": "Research"},
                              {"type": "wait", "config": {"hours": 3}},
                              {"type": "call", "name": "Call"}])
        connect_many(ids, seq.lineage_id)
        db.session.commit()
        enrollment = db.session.execute(select(Enrollment)).scalar_one()
        services.pause(enrollment)
        run = db.session.execute(select(StepRun)).scalar_one()
        db.session.execute(StepRun.__table__.update().values(status="completed"))
        advance_group(load_graph(seq.id), [enrollment.id], run.step_id, None, clock.now())
        db.session.commit()
    wait = _runs(world)[1]
    assert wait[:2] == ("wait", "waiting") and wait[2] is None and wait[3] is not None
