"""advance() and the seller's actions: every transition a record can take."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from saas.engine import activities, clock
from saas.engine.connect import connect_record
from saas.engine.events import on_message_event
from saas.engine.models import Enrollment, StepRun
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.messaging.models import MessageEvent
from saas.records.models import Record
from tests.engine.factories import build_sequence

EMAIL = {"type": "email", "name": "Intro email", "config": {"template_id": None}}
CALL = {"type": "call", "name": "Call"}
TASK = {"type": "task", "name": "Task"}


def wait(hours=0, days=0, name="Wait"):
    return {"type": "wait", "name": name, "config": {"days": days, "hours": hours}}


def condition(yes, no, *, events=("opened",), move_on=False, hours=2):
    return {"type": "email_condition", "name": "Opened?",
            "config": {"events": list(events), "match": "any", "limit_days": 0,
                       "limit_hours": hours, "move_on_event": move_on},
            "yes": yes, "no": no}


def runs(enrollment_id):
    return [(r.step_type, r.status, r.outcome) for r in db.session.execute(
        select(StepRun).where(StepRun.enrollment_id == enrollment_id)
        .order_by(StepRun.id)).scalars()]


def enrollment(enrollment_id):
    return db.session.execute(select(Enrollment).where(
        Enrollment.id == enrollment_id).execution_options(populate_existing=True)).scalar_one()


def record(record_id):
    return db.session.execute(select(Record).where(Record.id == record_id)).scalar_one()


def open_run(enrollment_id):
    return db.session.execute(select(StepRun).where(
        StepRun.enrollment_id == enrollment_id, StepRun.status == "open")).scalar_one()


def later(app, hours):
    with app.app_context():
        clock.move_forward(timedelta(hours=hours))


def test_manual_steps_become_activities_and_the_end_completes(world):
    record_id = world.add()[0]
    with world.inside():
        seq = build_sequence([CALL, TASK])
        e = connect_record(record(record_id), seq.lineage_id)
        eid = e.id
        db.session.commit()
        assert runs(eid) == [("call", "open", None)]
        run = open_run(eid)
        assert run.seller_id == world.seller.id
        assert activities.complete_activity(run.id, world.seller.id, outcome="connected")
        db.session.commit()
        assert activities.complete_activity(run.id, world.seller.id) is False  # double submit
        assert activities.complete_activity(open_run(eid).id, world.seller.id)
        db.session.commit()
        done = enrollment(eid)
        assert done.status == "completed" and done.steps_done == 2 and done.ended_at
        assert runs(eid) == [("call", "completed", "connected"), ("task", "completed", "done")]


def test_condition_yes_on_event_when_moving_on_at_once(app, world):
    record_id = world.add()[0]
    with world.inside():
        seq = build_sequence([EMAIL, condition([TASK], [CALL], move_on=True)])
        e = connect_record(record(record_id), seq.lineage_id)
        eid = e.id
        db.session.commit()
        email_run = open_run(eid)
        activities.complete_activity(email_run.id, world.seller.id)
        db.session.commit()
        assert runs(eid)[-1] == ("email_condition", "waiting", None)
        db.session.add(MessageEvent(step_run_id=email_run.id, kind="open"))
        assert on_message_event(email_run.id, "opened") == "decided"
        db.session.commit()
        assert runs(eid)[-2:] == [("email_condition", "completed", "yes"),
                                   ("task", "open", None)]


def test_condition_waits_for_its_limit_without_move_on(app, world):
    record_id = world.add()[0]
    with world.inside():
        seq = build_sequence([EMAIL, condition([TASK], [CALL], move_on=False)])
        e = connect_record(record(record_id), seq.lineage_id)
        eid = e.id
        db.session.commit()
        email_run = open_run(eid)
        activities.complete_activity(email_run.id, world.seller.id)
        db.session.add(MessageEvent(step_run_id=email_run.id, kind="click"))
        assert on_message_event(email_run.id, "clicked") == "nothing"
        db.session.commit()
        assert runs(eid)[-1] == ("email_condition", "waiting", None)
    later(app, 3)
    with app.app_context():
        run_tick()
    with world.inside():
        assert runs(eid)[-2:] == [("email_condition", "completed", "yes"),
                                   ("task", "open", None)]


def test_condition_no_on_time_out(app, world):
    record_id = world.add()[0]
    with world.inside():
        seq = build_sequence([EMAIL, condition([TASK], [CALL])])
        e = connect_record(record(record_id), seq.lineage_id)
        eid = e.id
        db.session.commit()
        activities.complete_activity(open_run(eid).id, world.seller.id)
        db.session.commit()
    later(app, 1)
    with app.app_context():
        assert run_tick()["transitions"] == 0  # not yet: the limit is two hours
    later(app, 1.5)
    with app.app_context():
        assert run_tick()["transitions"] == 1
    with world.inside():
        assert runs(eid)[-2:] == [("email_condition", "completed", "no"),
                                   ("call", "open", None)]


def test_skipping_an_email_sends_the_record_down_no(world):
    record_id = world.add()[0]
    with world.inside():
        seq = build_sequence([EMAIL, condition([TASK], [CALL], move_on=True)])
        e = connect_record(record(record_id), seq.lineage_id)
        eid = e.id
        db.session.commit()
        assert activities.skip_activity(open_run(eid).id, world.seller.id, reason="no time")
        db.session.commit()
        assert runs(eid) == [("email", "skipped", "skipped"),
                              ("email_condition", "completed", "no"), ("call", "open", None)]


def test_wait_expires_in_the_tick_and_skip_wait(app, world):
    record_id, other_id = world.add(2)
    with world.inside():
        seq = build_sequence([wait(hours=1), TASK], settings={"allow_skip_wait": True})
        e = connect_record(record(record_id), seq.lineage_id)
        eid = e.id
        e2 = connect_record(record(other_id), seq.lineage_id)
        db.session.commit()
        first = db.session.execute(select(StepRun).where(StepRun.enrollment_id == e2.id)
                                   ).scalar_one()
        assert activities.skip_wait(first.id, world.seller.id)
        db.session.commit()
        assert runs(e2.id) == [("wait", "completed", "wait_skipped"), ("task", "open", None)]
        assert runs(eid) == [("wait", "waiting", None)]
    with app.app_context():
        assert run_tick()["transitions"] == 0
    later(app, 1.01)
    with app.app_context():
        assert run_tick()["transitions"] == 1
    with world.inside():
        assert runs(eid) == [("wait", "completed", "expired"), ("task", "open", None)]
        assert enrollment(eid).current_step_id is not None


def test_call_and_field_conditions_are_decided_at_once(world):
    record_id = world.add(1, country="FR")[0]
    field_rules = {"op": "and",
                   "rules": [{"field": "country", "operator": "equals", "value": "FR"}]}
    with world.inside():
        seq = build_sequence([
            CALL,
            {"type": "call_condition", "name": "Reached?", "config": {"outcomes": ["connected"]},
             "yes": [{"type": "field_condition", "name": "French?",
                      "config": {"rules": field_rules}, "yes": [TASK], "no": [EMAIL]}],
             "no": [EMAIL]}])
        e = connect_record(record(record_id), seq.lineage_id)
        eid = e.id
        db.session.commit()
        activities.complete_activity(open_run(eid).id, world.seller.id, outcome="connected")
        db.session.commit()
        assert runs(eid) == [("call", "completed", "connected"),
                              ("call_condition", "completed", "yes"),
                              ("field_condition", "completed", "yes"), ("task", "open", None)]


def test_update_field_command_and_move_to_another_sequence(world):
    record_id = world.add()[0]
    with world.inside():
        target = build_sequence([TASK], name="Nurture")
        seq = build_sequence([
            {"type": "update_field", "name": "Mark contacted",
             "config": {"field": "status", "value": "contacted"}},
            {"type": "move_to_sequence", "name": "To nurture",
             "config": {"sequence_id": target.lineage_id}}])
        e = connect_record(record(record_id), seq.lineage_id)
        eid = e.id
        db.session.commit()
        assert record(record_id).status == "contacted"
        assert enrollment(eid).status == "completed"
        assert runs(eid) == [("update_field", "completed", "done"),
                              ("move_to_sequence", "completed", "moved")]
        moved = db.session.execute(select(Enrollment).where(
            Enrollment.lineage_id == target.lineage_id)).scalar_one()
        assert moved.source == "move" and moved.seller_id == world.seller.id
        assert runs(moved.id) == [("task", "open", None)]


def test_disqualifying_the_lead_exits_and_cancels(world):
    record_id = world.add()[0]
    with world.inside():
        seq = build_sequence([
            {"type": "update_field", "name": "Disqualify",
             "config": {"field": "status", "value": "disqualified"}}, TASK])
        e = connect_record(record(record_id), seq.lineage_id)
        eid = e.id
        db.session.commit()
        done = enrollment(eid)
        assert (done.status, done.exit_reason) == ("exited", "disqualified")
        assert runs(eid) == [("update_field", "completed", "done")]


def test_exit_on_reply_cancels_every_live_step(app, world):
    record_id = world.add()[0]
    with world.inside():
        seq = build_sequence([EMAIL, condition([TASK], [CALL], events=("replied",))])
        e = connect_record(record(record_id), seq.lineage_id)
        eid = e.id
        db.session.commit()
        email_run = open_run(eid)
        activities.complete_activity(email_run.id, world.seller.id)
        db.session.commit()
        assert on_message_event(email_run.id, "replied") == "exited"
        db.session.commit()
        done = enrollment(eid)
        assert (done.status, done.exit_reason) == ("exited", "replied")
        assert runs(eid)[-1] == ("email_condition", "cancelled", None)
    later(app, 5)
    with app.app_context():
        assert run_tick()["claimed"] == 0
    with world.inside():
        assert len(runs(eid)) == 2  # an exited record never gets another step
