"""LinkedIn activities through the engine: a sequence "research the person" -> wait -> "send a
connection request". The activities reach the seller's worklist and Up next with the record's
LinkedIn link (or a link to add one), completing one moves the record on, and a record connected
alone (single-record path) and records connected in bulk and moved by the tick (batch path) end
in the same state."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from saas.engine import clock
from saas.engine.advance import advance
from saas.engine.connect import connect_many, connect_record
from saas.engine.models import Enrollment, StepRun
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.records.models import Record
from tests.engine.factories import build_sequence

ANA = "https://www.linkedin.com/in/ana-lima"
BEN = "https://fr.linkedin.com/in/ben-okafor"
SPECS = [{"type": "linkedin_research", "name": "Research Ana's profile"},
         {"type": "wait", "config": {"days": 0, "hours": 2}},
         {"type": "linkedin_connect", "name": "Connect on LinkedIn"}]


def _runs(record_id: int) -> list[tuple]:
    rows = db.session.execute(
        select(StepRun).where(StepRun.record_id == record_id).order_by(StepRun.id)
        .execution_options(populate_existing=True)).scalars()
    return [(r.step_type, r.status, r.outcome) for r in rows]


def _open_run(record_id: int) -> int:
    return db.session.execute(select(StepRun.id).where(
        StepRun.record_id == record_id, StepRun.status == "open")).scalar_one()


def test_linkedin_activities_reach_the_worklist_and_move_on_when_done(app, world, login):
    single, bulk, bare = world.add(3, linkedin_url=lambda i: [ANA, BEN, None][i])
    with world.inside():
        sequence = build_sequence(SPECS, name="LinkedIn touch")
        connect_record(db.session.get(Record, single), sequence.lineage_id,
                       seller_id=world.seller.id)
        connect_many([bulk, bare], sequence.lineage_id)
        db.session.commit()
        runs = {record: _open_run(record) for record in (single, bulk, bare)}
        for record in runs:
            assert _runs(record) == [("linkedin_research", "open", None)]

    seller = app.test_client()
    assert login(seller, world.seller).status_code == 302
    page = seller.get("/acme/worklist").get_data(as_text=True)
    assert page.count("Research Ana&#39;s profile") == 3
    assert page.count("LinkedIn – research the person") >= 3
    assert (f'<a href="{ANA}" target="_blank" rel="noopener noreferrer" title="{ANA}">'
            "Open LinkedIn</a>") in page
    assert f'<a href="{BEN}" target="_blank" rel="noopener noreferrer"' in page
    assert re.search(rf'<a href="/acme/records/{bare}/edit">No LinkedIn profile on this record '
                     "— add it</a>", page)
    panel = seller.get(f"/acme/records/{single}/upnext").get_data(as_text=True)
    assert f'<a class="button" href="{ANA}" target="_blank" rel="noopener noreferrer">' \
        "Open LinkedIn</a>" in panel
    assert "Mark complete" in panel
    panel = seller.get(f"/acme/records/{bare}/upnext").get_data(as_text=True)
    assert f'href="/acme/records/{bare}/edit">No LinkedIn profile on this record — add it' \
        in panel

    for record, run_id in runs.items():  # done from the worklist row and from Up next
        origin = "worklist" if record == bulk else "record"
        response = seller.post(f"/acme/activities/{run_id}/complete",
                               data={"from": origin, "notes": "Posts read"})
        assert response.status_code in (200, 302)
    with world.inside():
        for record in runs:
            assert _runs(record) == [("linkedin_research", "completed", "done"),
                                     ("wait", "waiting", None)]
    assert "Research Ana&#39;s profile" not in seller.get("/acme/worklist").get_data(as_text=True)

    with app.app_context():
        clock.move_forward(timedelta(hours=2, minutes=1))
    with world.inside():  # the single-record path moves its record on by itself
        run = db.session.execute(select(StepRun).where(
            StepRun.record_id == single, StepRun.status == "waiting")).scalar_one()
        enrollment = db.session.execute(select(Enrollment).where(
            Enrollment.id == run.enrollment_id).with_for_update()).scalar_one()
        now = clock.now()
        run.status, run.completed_at, run.outcome, run.started_at = "completed", now, \
            "expired", run.started_at or now
        advance(enrollment, run, now=now)
        db.session.commit()
    with app.app_context():
        run_tick()  # the batch path moves the others
    with world.inside():
        states = {record: _runs(record) for record in runs}
        assert states[single] == states[bulk] == states[bare] == [
            ("linkedin_research", "completed", "done"), ("wait", "completed", "expired"),
            ("linkedin_connect", "open", None)]
        dues = {record: db.session.execute(select(StepRun.due_at).where(
            StepRun.record_id == record, StepRun.status == "open")).scalar_one()
            for record in runs}
        assert max(dues.values()) - min(dues.values()) < timedelta(seconds=5)
        connects = {record: _open_run(record) for record in runs}

    page = seller.get("/acme/worklist").get_data(as_text=True)
    assert page.count("Connect on LinkedIn") == 3
    assert page.count("LinkedIn – send a connection request") >= 3
    for run_id in connects.values():
        assert seller.post(f"/acme/activities/{run_id}/complete",
                           data={"from": "record"}).status_code in (200, 302)
    with world.inside():
        assert set(db.session.execute(select(Enrollment.status)).scalars()) == {"completed"}
        assert [s for s, __, __ in _runs(single)] == ["linkedin_research", "wait",
                                                      "linkedin_connect"]


def test_a_field_condition_branches_on_whether_the_record_has_a_linkedin_url(app, world):
    with_url, without = world.add(2, linkedin_url=lambda i: [ANA, None][i])
    rule = {"field": "linkedin_url", "operator": "is_not_empty", "value": ""}
    with world.inside():
        sequence = build_sequence([{
            "type": "field_condition", "config": {"rules": {"op": "and", "rules": [rule]}},
            "yes": [{"type": "linkedin_connect", "name": "Connect"}],
            "no": [{"type": "task", "name": "Find their LinkedIn profile"}]}])
        connect_many([with_url, without], sequence.lineage_id)
        db.session.commit()
    with app.app_context():
        run_tick()
    with world.inside():
        assert _runs(with_url)[-1] == ("linkedin_connect", "open", None)
        assert _runs(without)[-1] == ("task", "open", None)
