"""Versions, A/B steps, exits by setting and by address, pause, record deletion, snooze."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from saas.engine import activities, clock
from saas.engine.connect import connect_many, connect_record
from saas.engine.enroll import ConnectRefused
from saas.engine.events import exit_enrollments_for_address, on_message_event
from saas.engine.models import Enrollment, StepRun
from saas.engine.services import pause, resume
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.messaging.models import MessageEvent
from saas.records.services import delete_records
from saas.sequences.models import Sequence
from tests.engine.factories import build_sequence
from tests.engine.test_advance import EMAIL, TASK, condition, enrollment, open_run, record, runs


def test_an_enrollment_stays_on_its_version_and_new_ones_get_the_active_one(world):
    first_id, second_id = world.add(2)
    with world.inside():
        v1 = build_sequence([TASK], name="Follow-up")
        e1 = connect_record(record(first_id), v1.lineage_id)
        v2 = build_sequence([{"type": "call", "name": "Call"}], name="Follow-up",
                            lineage_id=v1.lineage_id, version=2)
        v1.status = "retired"
        db.session.flush()
        e2 = connect_record(record(second_id), v1.lineage_id)
        db.session.commit()
        assert (e1.sequence_id, e2.sequence_id) == (v1.id, v2.id)
        assert runs(e1.id) == [("task", "open", None)]
        activities.complete_activity(open_run(e1.id).id, world.seller.id)
        db.session.commit()
        assert enrollment(e1.id).status == "completed"  # finished v1's steps, not v2's
        v2.status = "inactive"
        db.session.flush()
        with pytest.raises(ConnectRefused, match="is not active"):
            connect_record(record(first_id), v1.lineage_id)


def test_an_ab_step_picks_a_version_and_acts_as_it(world):
    ids = world.add(20)
    ab = {"type": "ab_test", "name": "Subject test",
          "config": {"display_name": "Subject", "split_a": 50, "metric": "opens",
                     "ends": "auto", "end_at": None, "default_version": "A",
                     "versions": {"A": {"type": "email", "name": "Short", "template_id": None},
                                  "B": {"type": "auto_email", "name": "Long",
                                        "template_id": None}}}}
    with world.inside():
        seq = build_sequence([ab, TASK])
        for record_id in ids:
            connect_record(record(record_id), seq.lineage_id)
        db.session.commit()
        rows = db.session.execute(select(StepRun.ab_version, StepRun.step_type,
                                         StepRun.status)).all()
        assert {r.ab_version for r in rows} == {"A", "B"}
        assert all((r.step_type, r.status) == (("email", "open") if r.ab_version == "A"
                                               else ("auto_email", "pending")) for r in rows)


@pytest.mark.parametrize("kind,setting,reason", [("unsubscribed", "exit_on_unsubscribe",
                                                   "unsubscribed"),
                                                  ("bounced", "exit_on_bounce", "bounced")])
def test_exits_follow_the_sequence_settings(world, kind, setting, reason):
    kept_id, exiting_id = world.add(2)
    with world.inside():
        stays = build_sequence([EMAIL, TASK], name="Stays", settings={setting: False})
        exits = build_sequence([EMAIL, TASK], name="Exits")
        kept = connect_record(record(kept_id), stays.lineage_id)
        gone = connect_record(record(exiting_id), exits.lineage_id)
        db.session.commit()
        assert on_message_event(open_run(kept.id).id, kind) == "nothing"
        assert on_message_event(open_run(gone.id).id, kind) == "exited"
        db.session.commit()
        assert enrollment(kept.id).status == "active"
        assert (enrollment(gone.id).status, enrollment(gone.id).exit_reason) == ("exited",
                                                                                  reason)
        assert runs(gone.id) == [("email", "cancelled", None)]


def test_a_suppressed_address_exits_its_records(world):
    record_id = world.add()[0]
    with world.inside():
        seq = build_sequence([EMAIL, TASK])
        e = connect_record(record(record_id), seq.lineage_id)
        db.session.commit()
        address = record(record_id).email.upper()
        assert exit_enrollments_for_address(address, "unsubscribe") == 1
        db.session.commit()
        assert (enrollment(e.id).status, enrollment(e.id).exit_reason) == ("exited",
                                                                            "unsubscribed")


def test_a_paused_enrollment_waits_and_resumes(app, world):
    record_id = world.add()[0]
    with world.inside():
        seq = build_sequence([{"type": "wait", "config": {"hours": 1}}, TASK])
        e = connect_record(record(record_id), seq.lineage_id)
        db.session.commit()
        eid = e.id
        pause(e)
        assert activities.skip_wait(db.session.execute(select(StepRun.id)).scalar(),
                                    None) is False
    with app.app_context():
        clock.move_forward(timedelta(hours=2))
        assert run_tick()["claimed"] == 0
    with world.inside():
        resume(enrollment(eid))
    with app.app_context():
        assert run_tick()["transitions"] == 1
    with world.inside():
        assert runs(eid) == [("wait", "completed", "expired"), ("task", "open", None)]


def test_deleting_a_record_exits_its_connection_and_keeps_the_history(app, world):
    record_id, other_id = world.add(2)
    with world.inside():
        seq = build_sequence([TASK, {"type": "wait", "config": {"hours": 1}}, TASK])
        gone = connect_record(record(record_id), seq.lineage_id).id
        kept = connect_record(record(other_id), seq.lineage_id).id
        db.session.commit()
        task_run = open_run(gone).id
        activities.complete_activity(task_run, world.seller.id, outcome="done",
                                     notes="Spoke to her assistant")
        db.session.add(MessageEvent(step_run_id=task_run, kind="reply", address="ana@ex.com",
                                    provider_event_id="reply:1", data={"text": "Call me"}))
        db.session.commit()
        assert delete_records([record_id]) == 1
        event = db.session.execute(select(MessageEvent)).scalar_one()
        assert (event.kind, event.address, event.data) == ("reply", None, {})
        ended = enrollment(gone)
        assert (ended.status, ended.exit_reason) == ("exited", "record_deleted")
        assert ended.ended_at is not None
        assert runs(gone) == [("task", "completed", "done"), ("wait", "cancelled", None)]
        assert db.session.execute(select(StepRun.notes).where(
            StepRun.enrollment_id == gone)).scalars().all() == [None, None]
        assert enrollment(kept).status == "active"
    with app.app_context():
        clock.move_forward(timedelta(hours=2))
        assert run_tick()["claimed"] == 0  # nothing of the deleted record's comes back
    with world.inside():
        assert runs(gone)[-1] == ("wait", "cancelled", None)


def test_the_connected_records_tab_shows_a_deleted_record_as_exited(world, login, client):
    record_id = world.add()[0]
    with world.inside():
        seq = build_sequence([TASK])
        connect_record(record(record_id), seq.lineage_id)
        db.session.commit()
        delete_records([record_id])
        lineage = seq.lineage_id
    login(client, world.manager)
    page = client.get(f"/acme/sequences/{lineage}/connected").get_data(as_text=True)
    assert "Deleted record" in page and "record deleted" in page


def test_snooze_keeps_the_activity_open_until_later(world):
    record_id = world.add()[0]
    with world.inside():
        seq = build_sequence([TASK])
        e = connect_record(record(record_id), seq.lineage_id)
        db.session.commit()
        run = open_run(e.id)
        assert activities.snooze_activity(run.id, world.seller.id,
                                          clock.now() - timedelta(hours=1)) is False
        assert activities.snooze_activity(run.id, world.seller.id,
                                          clock.now() + timedelta(days=1))
        db.session.commit()
        assert open_run(e.id).snoozed_until is not None


def test_a_condition_decided_by_an_event_before_it_is_reached(world):
    """An email opened before the record reaches its condition: Yes at once (move on)."""
    record_id = world.add()[0]
    with world.inside():
        seq = build_sequence([EMAIL, {"type": "task", "name": "Between"},
                              condition([TASK], [{"type": "call", "name": "Call"}],
                                        move_on=True)])
        e = connect_record(record(record_id), seq.lineage_id)
        db.session.commit()
        email_run = open_run(e.id)
        activities.complete_activity(email_run.id, world.seller.id)
        from saas.messaging.models import MessageEvent

        db.session.add(MessageEvent(step_run_id=email_run.id, kind="open"))
        on_message_event(email_run.id, "opened")
        activities.complete_activity(open_run(e.id).id, world.seller.id)
        db.session.commit()
        assert runs(e.id)[-2:] == [("email_condition", "completed", "yes"),
                                   ("task", "open", None)]
        assert db.session.execute(select(Sequence.status)).scalars().all() == ["active"]


def test_deleting_records_while_they_are_being_connected(app, world):
    """A connect holds the records it writes (the foreign key's FOR KEY SHARE) until it commits:
    the deletion waits for it, then exits the connections it made."""
    ids = world.add(20)
    with world.inside():
        lineage = build_sequence([TASK]).lineage_id
        db.session.commit()
    connected, deleted = threading.Event(), threading.Event()
    outcome: dict = {}

    def connect():
        with world.inside():
            outcome["connected"] = connect_many(ids, lineage)["connected"]
            connected.set()
            outcome["waited"] = not deleted.wait(1.0)
            db.session.commit()

    def remove():
        connected.wait(5)
        with world.inside():
            outcome["deleted"] = delete_records(ids[:5])
            deleted.set()

    threads = [threading.Thread(target=connect), threading.Thread(target=remove)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcome == {"connected": 20, "waited": True, "deleted": 5}
    with world.inside():
        rows = db.session.execute(select(Enrollment.status, Enrollment.exit_reason,
                                         Enrollment.record_id)).all()
        assert sorted((s, r) for s, r, _ in rows) == [("active", None)] * 15 + [
            ("exited", "record_deleted")] * 5
        assert {rid for s, _, rid in rows if s == "exited"} == {None}
        assert db.session.execute(select(func.count()).select_from(StepRun).where(
            StepRun.status == "open")).scalar() == 15


def test_a_connect_job_goes_on_when_a_record_is_deleted_under_it(app, world, monkeypatch):
    """The job's chunk meets a record being deleted (the foreign key fails once the deletion
    commits): the chunk is written again without it, and the job finishes."""
    from saas.engine import connect_job
    from saas.engine.models import ConnectJob
    from saas.records.models import Record

    ids = world.add(10)
    with world.inside():
        seq = build_sequence([TASK])
        job = ConnectJob(sequence_id=seq.id, record_ids=ids, total=10)
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    monkeypatch.setitem(app.config, "ENGINE_TICK_WORKERS", 1)
    locked = threading.Event()

    def remove():
        with world.inside():
            db.session.execute(select(Record.id).where(Record.id == ids[3]).with_for_update())
            locked.set()
            time.sleep(0.5)  # the job's chunk waits for this lock meanwhile
            delete_records([ids[3]])

    deleting = threading.Thread(target=remove)
    deleting.start()
    locked.wait(5)
    with app.app_context():
        connect_job.run_connect_job(job_id, world.tenant.id)
    deleting.join()
    with world.inside():
        job = db.session.execute(select(ConnectJob)).scalar_one()
        assert (job.status, job.done, job.connected, job.skipped) == ("done", 10, 9, 1)


def test_the_record_page_warns_that_deleting_it_leaves_its_sequences(world, login, client):
    record_id, alone = world.add(2)
    with world.inside():
        for name in ("First", "Second"):
            connect_record(record(record_id), build_sequence([TASK], name=name).lineage_id)
        db.session.commit()
    login(client, world.manager)
    page = client.get(f"/acme/records/{record_id}").get_data(as_text=True)
    assert "It leaves the 2 sequences it runs in, whose history keeps it as exited." in page
    page = client.get(f"/acme/records/{alone}").get_data(as_text=True)
    assert "? This cannot be undone." in page and "It leaves" not in page
