"""The worklist page: rows, filters, sorting, search, pages, counts, row actions, managers."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from saas.engine import clock
from saas.engine.models import Enrollment, StepRun
from tests.worklist import factories as f


def _rows(html: str) -> list[str]:
    """The record names on the worklist, in order."""
    body = html.split('id="worklist"', 1)[1] if 'id="worklist"' in html else ""
    return re.findall(r'<td><a href="/acme/records/\d+">([^<]+)</a>', body)


def _activities(world, n=3, step_type="task", seller=None, name="Book a meeting", **seq_kwargs):
    """n leads connected to a one-activity sequence for the seller; returns enrollment ids."""
    seller = seller or world.seller
    with world.data():
        seq = f.sequence([{"type": step_type, "name": name},
                          {"type": "task", "name": "Second task"}], **seq_kwargs)
        ids = []
        for i in range(n):
            record = f.lead(first_name=f"P{i}", last_name=f"Person{i:02d}",
                            company=f"Firm {i}")
            ids.append(f.connect(record, seq, seller.id).id)
    return ids


def _set_due(world, enrollment_id, delta):
    with world.data() as session:
        session.execute(update(StepRun).where(StepRun.enrollment_id == enrollment_id)
                        .values(due_at=clock.now() + delta))


def test_a_seller_sees_their_open_activities_only(world):
    _activities(world, 2)
    _activities(world, 1, seller=world.other, name="Someone else's task")
    page = world.client_for(world.seller).get("/acme/worklist")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert _rows(html) == ["P0 Person00", "P1 Person01"]
    assert "Book a meeting" in html and "Someone else" not in html
    assert "Firm 0" in html and "Mark complete" in html


def test_overdue_rows_are_highlighted_and_time_filters_split_them(world):
    ids = _activities(world, 3)
    _set_due(world, ids[0], timedelta(days=-2))       # overdue
    _set_due(world, ids[1], timedelta(days=3))        # upcoming
    client = world.client_for(world.seller)
    html = client.get("/acme/worklist").get_data(as_text=True)
    assert html.count('class="wl-overdue"') == 1
    assert _rows(client.get("/acme/worklist?when=overdue").get_data(as_text=True)) == \
        ["P0 Person00"]
    assert _rows(client.get("/acme/worklist?when=upcoming").get_data(as_text=True)) == \
        ["P1 Person01"]
    assert "P2 Person02" in _rows(client.get("/acme/worklist?when=today").get_data(as_text=True))
    counts = client.get("/acme/worklist/counts").get_data(as_text=True)
    assert re.search(r'data-when="all"[^>]*>All <span class="wl-count">3<', counts)
    assert re.search(r'data-when="overdue"[^>]*>Overdue <span class="wl-count">1<', counts)
    assert re.search(r'data-when="upcoming"[^>]*>Upcoming <span class="wl-count">1<', counts)


def test_filters_by_activity_type_and_sequence_and_search(world):
    with world.data():
        calls = f.sequence([{"type": "call", "name": "Follow-up call"}], name="Calls")
        tasks = f.sequence([{"type": "task", "name": "Send brochure"}], name="Tasks")
        f.connect(f.lead(first_name="Carla", last_name="Caller", company="Phones Inc"), calls,
                  world.seller.id)
        f.connect(f.lead(first_name="Tom", last_name="Tasker", email="tom@brochures.example"),
                  tasks, world.seller.id)
        calls_id = calls.lineage_id
    client = world.client_for(world.seller)
    assert _rows(client.get("/acme/worklist?type=call").get_data(as_text=True)) == \
        ["Carla Caller"]
    assert _rows(client.get(f"/acme/worklist?sequence={calls_id}").get_data(as_text=True)) == \
        ["Carla Caller"]
    assert _rows(client.get("/acme/worklist?q=brochures").get_data(as_text=True)) == \
        ["Tom Tasker"]
    assert _rows(client.get("/acme/worklist?q=phones").get_data(as_text=True)) == \
        ["Carla Caller"]
    empty = client.get("/acme/worklist?q=nobody").get_data(as_text=True)
    assert "No activities match these filters." in empty


def test_sort_by_name_and_keyset_pages(world):
    _activities(world, 55)
    client = world.client_for(world.seller)
    first = client.get("/acme/worklist?sort=name").get_data(as_text=True)
    names = _rows(first)
    assert len(names) == 50 and names == sorted(names, key=lambda n: n.split()[1])
    after = re.search(r'href="/acme/worklist\?([^"]*after=[^"]+)"', first).group(1)
    second = _rows(client.get(f"/acme/worklist?{after.replace('&amp;', '&')}")
                   .get_data(as_text=True))
    assert len(second) == 5 and not set(second) & set(names)
    by_due = _rows(client.get("/acme/worklist").get_data(as_text=True))
    assert len(by_due) == 50


def test_mark_complete_from_a_row_advances_the_record(world):
    ids = _activities(world, 1)
    client = world.client_for(world.seller)
    with world.data():
        run_id = f.current_run(ids[0]).id
    answer = client.post(f"/acme/activities/{run_id}/complete", data={"from": "worklist"},
                         headers={"HX-Request": "true"})
    assert answer.status_code == 200
    assert "The record moves on" in answer.get_data(as_text=True)
    assert answer.headers["HX-Trigger"] == "worklist-changed"
    with world.data() as session:
        run = session.execute(select(StepRun).where(StepRun.id == run_id)).scalar_one()
        assert run.status == "completed" and run.completed_by_id == world.seller.id
        assert f.current_run(ids[0]).step_type == "task"  # the second task is open now
    html = client.get("/acme/worklist").get_data(as_text=True)
    assert "Second task" in html and "Book a meeting" not in html


def test_plain_form_posts_redirect_back_to_the_filtered_worklist(world):
    ids = _activities(world, 1)
    with world.data():
        run_id = f.current_run(ids[0]).id
    client = world.client_for(world.seller)
    answer = client.post(f"/acme/activities/{run_id}/skip",
                         data={"from": "worklist", "next": "/acme/worklist?type=task",
                               "reason": "Met them at the booth"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/acme/worklist?type=task"
    with world.data():
        done = f.current_run(ids[0])
        assert done.step_type == "task" and done.status == "open"
    with world.data() as session:
        skipped = session.execute(select(StepRun).where(StepRun.id == run_id)).scalar_one()
        assert skipped.status == "skipped" and skipped.notes == "Met them at the booth"
    # An outside address is never followed.
    with world.data():
        second = f.current_run(ids[0]).id
    answer = client.post(f"/acme/activities/{second}/complete",
                         data={"from": "worklist", "next": "https://evil.example/"})
    assert answer.headers["Location"] == "/acme/worklist"


def test_auto_advance_opens_the_next_record(world):
    ids = _activities(world, 2)
    _set_due(world, ids[0], timedelta(hours=-1))
    client = world.client_for(world.seller)
    client.post("/acme/worklist/auto-advance", data={"auto_advance": "on"})
    with world.data() as session:
        first = f.current_run(ids[0])
        second_record = session.execute(select(Enrollment.record_id)
                                        .where(Enrollment.id == ids[1])).scalar_one()
        first_id, first_record = first.id, first.record_id
    answer = client.post(f"/acme/activities/{first_id}/complete", data={"from": "worklist"},
                         headers={"HX-Request": "true"})
    # The first record's second task is due now, after the other record's task: that one opens.
    assert answer.headers["HX-Redirect"] == f"/acme/records/{second_record}"
    assert first_record != second_record
    client.post("/acme/worklist/auto-advance", data={})
    with world.data():
        run_id = f.current_run(ids[1]).id
    answer = client.post(f"/acme/activities/{run_id}/complete", data={"from": "worklist"},
                         headers={"HX-Request": "true"})
    assert "HX-Redirect" not in answer.headers


def test_snooze_hides_the_activity_until_its_time(world):
    ids = _activities(world, 2)
    with world.data():
        run_id = f.current_run(ids[0]).id
    client = world.client_for(world.seller)
    past = (clock.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    refused = client.post(f"/acme/activities/{run_id}/snooze",
                          data={"from": "worklist", "until": past},
                          headers={"HX-Request": "true"})
    assert "Choose a time in the future." in refused.get_data(as_text=True)
    later = (clock.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    client.post(f"/acme/activities/{run_id}/snooze", data={"from": "worklist", "until": later})
    assert _rows(client.get("/acme/worklist").get_data(as_text=True)) == ["P1 Person01"]
    assert _rows(client.get("/acme/worklist?when=snoozed").get_data(as_text=True)) == \
        ["P0 Person00"]
    counts = client.get("/acme/worklist/counts").get_data(as_text=True)
    assert re.search(r'data-when="snoozed"[^>]*>Snoozed <span class="wl-count">1<', counts)
    assert re.search(r'data-when="all"[^>]*>All <span class="wl-count">1<', counts)
    with world.data():
        run = f.current_run(ids[0])
        assert run.status == "open" and run.snoozed_until is not None
    # Once the time has come it is back on the list.
    world.app.config["ENGINE_CLOCK_OFFSET"] = str(3 * 86400)
    try:
        assert "P0 Person00" in _rows(client.get("/acme/worklist").get_data(as_text=True))
    finally:
        world.app.config.pop("ENGINE_CLOCK_OFFSET")


def test_double_submit_completes_once_and_advances_once(world):
    ids = _activities(world, 1)
    with world.data():
        run_id = f.current_run(ids[0]).id
    client = world.client_for(world.seller)
    first = client.post(f"/acme/activities/{run_id}/complete", data={"from": "worklist"},
                        headers={"HX-Request": "true"})
    second = client.post(f"/acme/activities/{run_id}/complete", data={"from": "worklist"},
                         headers={"HX-Request": "true"})
    assert "moves on" in first.get_data(as_text=True)
    assert "already done" in second.get_data(as_text=True)
    with world.data() as session:
        enrollment = session.execute(select(Enrollment).where(Enrollment.id == ids[0])).scalar_one()
        runs = session.execute(select(StepRun).where(StepRun.enrollment_id == ids[0])
                               .order_by(StepRun.id)).scalars()
        assert enrollment.steps_done == 1
        assert [r.status for r in runs] == ["completed", "open"]


def test_another_sellers_activity_is_404_but_a_manager_may_act(world):
    ids = _activities(world, 2, seller=world.other)
    with world.data():
        runs = [f.current_run(i).id for i in ids]
    seller = world.client_for(world.seller)
    for action in ("complete", "skip", "snooze", "call", "send", "skip-wait"):
        assert seller.post(f"/acme/activities/{runs[0]}/{action}").status_code == 404
    manager = world.client_for(world.manager)
    answer = manager.post(f"/acme/activities/{runs[0]}/complete", data={"from": "worklist"})
    assert answer.status_code == 302
    with world.data():
        assert f.current_run(ids[0]).step_type == "task"


def test_managers_pick_any_sellers_worklist_sellers_only_their_own(world):
    _activities(world, 1, seller=world.other, name="Olga's call list")
    manager = world.client_for(world.manager)
    page = manager.get(f"/acme/worklist?seller={world.other.id}").get_data(as_text=True)
    assert "Worklist of Olga Other" in page and "Olga&#39;s call list" in page
    assert 'id="seller"' in page  # the picker
    seller = world.client_for(world.seller)
    assert seller.get(f"/acme/worklist?seller={world.other.id}").status_code == 404
    mine = seller.get("/acme/worklist").get_data(as_text=True)
    assert 'id="seller"' not in mine and "Nothing to do right now." in mine


def test_sellers_land_on_their_worklist_after_login(world):
    seller = world.client_for(world.seller)
    assert seller.get("/acme/").headers["Location"] == "/acme/worklist"
    manager = world.client_for(world.manager)
    assert manager.get("/acme/").status_code == 200
    assert 'href="/acme/worklist"' in manager.get("/acme/").get_data(as_text=True)


def test_a_paused_enrollments_activity_leaves_the_worklist(world):
    ids = _activities(world, 2)
    with world.data() as session:
        session.execute(update(Enrollment).where(Enrollment.id == ids[0])
                        .values(status="paused"))
        record_id = session.execute(select(Enrollment.record_id)
                                    .where(Enrollment.id == ids[0])).scalar_one()
    client = world.client_for(world.seller)
    assert _rows(client.get("/acme/worklist").get_data(as_text=True)) == ["P1 Person01"]
    counts = client.get("/acme/worklist/counts").get_data(as_text=True)
    assert re.search(r'data-when="all"[^>]*>All <span class="wl-count">1<', counts)
    panel = client.get(f"/acme/records/{record_id}/upnext").get_data(as_text=True)
    assert "nothing to do until it resumes" in panel and "Mark complete" not in panel


def test_times_are_shown_in_the_sellers_time_zone(world):
    from datetime import UTC, datetime

    from saas.auth.models import User

    (enrollment,) = _activities(world, 1)
    with world.data() as session:
        session.execute(update(StepRun).where(StepRun.enrollment_id == enrollment)
                        .values(due_at=datetime(2030, 7, 1, 7, 30, tzinfo=UTC)))
        session.execute(update(User).where(User.id == world.seller.id)
                        .values(time_zone="Europe/Paris"))
    html = world.client_for(world.seller).get("/acme/worklist").get_data(as_text=True)
    assert "Jul 1, 2030, 9:30\u202fAM" in html  # 07:30 UTC, summer time in Paris
    assert '<time datetime="2030-07-01T07:30:00+00:00"' in html
    assert "Central European Summer Time" in html  # the full time, in the title
