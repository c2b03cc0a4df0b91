"""The worklist leads with the work: each row's main action is what its activity asks for, rows
are grouped by due (Overdue, Today, Later, in the viewer's day), and the bulk bar completes,
skips, snoozes or (managers) reassigns the selected activities, each compare-and-set."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from saas.auth.models import User
from saas.engine import clock
from saas.engine.models import Enrollment, StepRun
from tests.worklist import factories as f


def _connect(world, step_type="task", n=1, seller=None, name="Do it", **lead):
    """n leads on a one-activity sequence (then a second task); returns their open run ids."""
    seller = seller or world.seller
    with world.data():
        seq = f.sequence([{"type": step_type, "name": name}, {"type": "task", "name": "Then"}])
        enrollments = [f.connect(f.lead(**lead), seq, seller.id).id for _ in range(n)]
        return [f.current_run(e).id for e in enrollments]


def _run(world, run_id) -> StepRun:
    with world.data() as session:
        run = session.execute(select(StepRun).where(StepRun.id == run_id)).scalar_one()
        session.expunge(run)
        return run


def _row_html(html: str, run_id: int) -> str:
    return html.split(f'data-step-run="{run_id}"', 1)[1].split("</tr>", 1)[0]


def test_the_main_action_of_a_row_is_what_its_activity_asks_for(world):
    email = _connect(world, "email", name="Intro email")[0]
    call = _connect(world, "call", name="Discovery call")[0]
    task = _connect(world, "task", name="Send brochure")[0]
    linkedin = _connect(world, "linkedin_connect", name="Say hello")[0]
    html = world.client_for(world.seller).get("/acme/worklist").get_data(as_text=True)

    row = _row_html(html, email)
    assert re.search(rf'href="/acme/records/\d+\?activity={email}&amp;open=compose#upnext">'
                     r"Compose<", row)
    assert "Mark complete" not in row
    row = _row_html(html, call)
    assert re.search(rf'href="/acme/records/\d+\?activity={call}&amp;open=call#upnext">Call<', row)
    assert "Mark complete" not in row
    for run_id in (task, linkedin):
        row = _row_html(html, run_id)
        assert re.search(rf'href="/acme/records/\d+\?activity={run_id}#upnext">Open<', row)
        assert "Mark complete" in row   # secondary, after Open
        assert row.index(">Open<") < row.index("Mark complete")


def test_the_compose_link_opens_the_composer_of_that_activity(world):
    email = _connect(world, "email", name="Intro email")[0]
    client = world.client_for(world.seller)
    html = client.get("/acme/worklist").get_data(as_text=True)
    link = re.search(r'href="(/acme/records/\d+\?activity=\d+&amp;open=compose)#upnext"',
                     html).group(1).replace("&amp;", "&")
    record = client.get(link).get_data(as_text=True)
    assert re.search(r'<details class="un-composer" open>', record)
    assert f"/activities/{email}/send" in record


def _headings(html: str) -> list[str]:
    return re.findall(r'<tr class="wl-group wl-group-\w+"><th colspan="6" scope="colgroup">'
                      r"([^<]+)</th>", html)


def test_rows_are_grouped_by_due_in_the_viewers_day(world):
    ids = _connect(world, n=3)
    with world.data() as session:
        session.execute(update(User).where(User.id == world.seller.id)
                        .values(time_zone="Pacific/Kiritimati"))  # UTC+14
        for run_id, delta in zip(ids, (timedelta(days=-3), timedelta(0), timedelta(days=4)),
                                 strict=True):
            session.execute(update(StepRun).where(StepRun.id == run_id)
                            .values(due_at=clock.now() + delta))
    client = world.client_for(world.seller)
    html = client.get("/acme/worklist").get_data(as_text=True)
    assert _headings(html) == ["Overdue", "Today", "Later"]
    assert html.index("Overdue</th>") < html.index(f'data-step-run="{ids[0]}"') \
        < html.index("Today</th>") < html.index(f'data-step-run="{ids[1]}"') \
        < html.index("Later</th>") < html.index(f'data-step-run="{ids[2]}"')
    assert "3 days overdue" in html
    # Sorted by name, the groups would not hold: no headings.
    assert _headings(client.get("/acme/worklist?sort=name").get_data(as_text=True)) == []


def test_a_group_that_continues_on_the_next_page_is_headed_again(world):
    _connect(world, n=52)
    client = world.client_for(world.seller)
    first = client.get("/acme/worklist").get_data(as_text=True)
    assert _headings(first) == ["Today"]
    after = re.search(r'href="/acme/worklist\?after=([^"]+)"', first).group(1)
    second = client.get(f"/acme/worklist?after={after}").get_data(as_text=True)
    assert _headings(second) == ["Today"]
    assert second.count('data-step-run="') == 2


def test_a_seller_completes_the_selected_activities_at_once(world):
    ids = _connect(world, n=4)
    client = world.client_for(world.seller)
    client.post(f"/acme/activities/{ids[2]}/complete", data={"from": "worklist"})  # meanwhile
    answer = client.post("/acme/worklist/bulk", data={
        "action": "complete", "ids": ids[:3], "next": "/acme/worklist?when=today"})
    assert answer.status_code == 302 and answer.location.endswith("/acme/worklist?when=today")
    html = client.get("/acme/worklist").get_data(as_text=True)
    assert "2 activities completed. 1 was already done: nothing changed for it." in html
    assert [_run(world, i).status for i in ids] == ["completed"] * 3 + ["open"]
    with world.data() as session:  # each moved on to its next step, once
        steps = session.execute(select(StepRun.enrollment_id).where(
            StepRun.status == "open", StepRun.step_type == "task")).scalars().all()
        assert len(steps) == 4 and len(set(steps)) == 4


def test_bulk_skip_and_snooze(world):
    ids = _connect(world, n=3)
    client = world.client_for(world.seller)
    client.post("/acme/worklist/bulk", data={"action": "skip", "ids": ids[:1]})
    assert "1 activity skipped." in client.get("/acme/worklist").get_data(as_text=True)
    assert _run(world, ids[0]).status == "skipped"

    refused = client.post("/acme/worklist/bulk", data={
        "action": "snooze", "ids": ids[1:], "until": "2001-01-01T09:00"})
    assert refused.status_code == 302
    assert "Choose a time in the future." in client.get("/acme/worklist").get_data(as_text=True)
    assert _run(world, ids[1]).snoozed_until is None

    client.post("/acme/worklist/bulk", data={
        "action": "snooze", "ids": ids[1:], "until": "2099-01-01T09:00"})
    html = client.get("/acme/worklist").get_data(as_text=True)
    assert "2 activities snoozed." in html
    assert _run(world, ids[1]).snoozed_until is not None
    assert _run(world, ids[2]).snoozed_until is not None


def test_a_seller_acts_only_on_their_own_activities_and_cannot_reassign(world):
    mine = _connect(world)[0]
    theirs = _connect(world, seller=world.other)[0]
    client = world.client_for(world.seller)
    client.post("/acme/worklist/bulk", data={"action": "complete", "ids": [mine, theirs]})
    assert "1 activity completed." in client.get("/acme/worklist").get_data(as_text=True)
    assert _run(world, theirs).status == "open"

    other = _connect(world)[0]
    client.post("/acme/worklist/bulk", data={"action": "reassign", "ids": [other],
                                             "seller_id": world.other.id})
    assert "Only a sequence manager can reassign activities." in \
        client.get("/acme/worklist").get_data(as_text=True)
    assert _run(world, other).seller_id == world.seller.id
    assert 'value="reassign"' not in client.get("/acme/worklist").get_data(as_text=True)


def test_a_manager_reassigns_activities_and_their_connections(world):
    ids = _connect(world, n=2)
    manager = world.client_for(world.manager)
    page = manager.get(f"/acme/worklist?seller={world.seller.id}").get_data(as_text=True)
    assert 'value="reassign"' in page
    refused = manager.post("/acme/worklist/bulk", data={"action": "reassign", "ids": ids})
    assert refused.status_code == 302
    assert "Choose the seller who takes the activities." in \
        manager.get("/acme/worklist").get_data(as_text=True)
    manager.post("/acme/worklist/bulk", data={"action": "reassign", "ids": ids,
                                              "seller_id": world.other.id})
    assert "2 activities reassigned to Olga Other." in \
        manager.get("/acme/worklist").get_data(as_text=True)
    with world.data() as session:
        runs = session.execute(select(StepRun).where(StepRun.id.in_(ids))).scalars().all()
        assert {r.seller_id for r in runs} == {world.other.id}
        enrollments = session.execute(select(Enrollment.seller_id).where(
            Enrollment.id.in_([r.enrollment_id for r in runs]))).scalars().all()
        assert set(enrollments) == {world.other.id}
    olga = world.client_for(world.other).get("/acme/worklist").get_data(as_text=True)
    assert all(f'data-step-run="{i}"' in olga for i in ids)


def test_bulk_refuses_no_selection_an_unknown_action_and_too_many(world):
    ids = _connect(world)
    client = world.client_for(world.seller)
    client.post("/acme/worklist/bulk", data={"action": "complete"})
    assert "Select at least one activity first." in \
        client.get("/acme/worklist").get_data(as_text=True)
    client.post("/acme/worklist/bulk", data={"action": "delete", "ids": ids})
    assert "Choose what to do with the selected activities." in \
        client.get("/acme/worklist").get_data(as_text=True)
    assert _run(world, ids[0]).status == "open"
    answer = client.post("/acme/worklist/bulk", data={"action": "complete",
                                                      "ids": list(range(1, 202))})
    assert answer.status_code == 400
    assert "Select at most 200 activities at once." in answer.get_data(as_text=True)
