"""Analytics on a constructed history: every figure counted by hand."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from saas.auth.models import Role
from saas.engine import abtests
from saas.engine.models import Enrollment
from saas.extensions import db
from saas.sequences.models import Step
from saas.timeutil import utcnow
from tests.analytics.history import (
    ab_config,
    ab_sends,
    add_events,
    add_runs,
    add_step,
    enroll,
    make_sequence,
)


@pytest.fixture
def history(within, make_tenant, make_user, add_records):
    """Version 1 (retired) and version 2 (active) of one sequence, with a goal.

    Records 0-9 on version 1: 4 completed (2, 4, 6 and 8 days), 3 exited (2 reply, 1 bounce),
    2 disconnected, 1 active. Records 10-14 on version 2: active. Records 15-16 connected 60 days
    ago (outside "last 30 days"), completed. Goal: status "qualified", met by records 0, 1, 10.
    Version 1 steps: an automated email reached by all 10 (8 sent, 1 failed, 1 pending), then a
    call reached by 6 (3 completed, 1 skipped, 2 open of which 1 overdue).
    Events on the email: 8 delivered, 5 opened (one opened twice), 2 clicked, 2 replied,
    1 bounced, 0 unsubscribed.
    """
    tenant = make_tenant("acme")
    user = make_user(tenant, roles=[Role.SEQUENCE_MANAGER])
    ids = add_records(tenant, 17, status=lambda i: "qualified" if i in (0, 1, 10) else "new")
    now = utcnow()
    with within(tenant):
        goal = {"goal": {"field": "status", "value": "qualified"}}
        v1 = make_sequence("Trade show", status="retired", settings=goal)
        v2 = make_sequence("Trade show", status="active", settings=goal, lineage=v1)
        start = now - timedelta(days=10)
        e = []
        for days in (2, 4, 6, 8):
            e += enroll(v1, [ids[len(e)]], status="completed", started_at=start,
                        ended_at=start + timedelta(days=days))
        e += enroll(v1, ids[4:6], status="exited", exit_reason="reply", started_at=start,
                    ended_at=now)
        e += enroll(v1, ids[6:7], status="exited", exit_reason="bounce", started_at=start,
                    ended_at=now)
        e += enroll(v1, ids[7:9], status="disconnected", started_at=start, ended_at=now)
        e += enroll(v1, ids[9:10], status="active", started_at=start)
        enroll(v2, ids[10:15], status="active", started_at=now - timedelta(days=1))
        enroll(v1, ids[15:17], status="completed", started_at=now - timedelta(days=60),
               ended_at=now - timedelta(days=59))
        email = add_step(v1, "auto_email", "Intro email", position=0)
        call = add_step(v1, "call", "Follow-up call", position=1)
        add_step(v2, "auto_email", "Intro email v2", position=0)
        pairs = list(zip(e, ids[:10], strict=True))
        sent = add_runs(email, pairs[:8], status="sent", completed_at=now - timedelta(days=2))
        add_runs(email, pairs[8:9], status="failed")
        add_runs(email, pairs[9:10], status="pending", due_at=now + timedelta(hours=1))
        add_runs(call, pairs[:3], status="completed", completed_at=now - timedelta(days=1))
        add_runs(call, pairs[3:4], status="skipped")
        add_runs(call, pairs[4:5], status="open", due_at=now - timedelta(hours=3))
        add_runs(call, pairs[5:6], status="open", due_at=now + timedelta(days=1))
        add_events(sent, "delivered")
        add_events(sent[:5], "open")
        add_events(sent[:1], "open", prefix="again-")
        add_events(sent[:2], "click")
        add_events(sent[2:4], "reply", occurred_at=now - timedelta(days=1))
        add_events(sent[7:8], "bounce")
        plain = [SimpleNamespace(id=o.id) for o in (v1, v2, email, call)]
    return (tenant, user, *plain)


def _cells(html: str, row_id: str) -> list[str]:
    row = re.search(rf'<tr data-step="{row_id}">(.*?)</tr>', html, re.S).group(1)
    return [re.sub(r"<[^>]+>", " ", c).split()[0] if re.sub(r"<[^>]+>", " ", c).split() else ""
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_sequence_page_shows_exact_figures(app, history, client, login):
    tenant, user, v1, v2, email, call = history
    login(client, user)
    page = client.get(f"/acme/analytics/sequences/{v2.id}?period=30&version=1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    kpis = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", html))
    assert kpis == {"Connected": "15", "Active": "6", "Paused": "0", "Completed": "4",
                    "Exited": "3", "Disconnected": "2", "Goal reached": "3",
                    "Median days to complete": "5.0"}
    assert "bounce: <strong>1</strong>" in html and "reply: <strong>2</strong>" in html
    # Intro email: reached 10, completed (sent) 8, skipped 0, overdue 0, failed 1,
    # delivered 8, opened 5, clicked 2, replied 2, bounced 1, unsubscribed 0.
    assert _cells(html, email.id)[2:] == ["10", "8", "0", "0", "1", "8", "5", "2", "2", "1",
                                          "0"]
    assert "62.5%" in html  # opened 5 of 8 sent
    # Follow-up call: reached 6, completed 3, skipped 1, overdue 1, failed 0; no message columns.
    assert _cells(html, call.id)[2:7] == ["6", "3", "1", "1", "0"]
    assert "<title" in html and 'role="img"' in html  # the charts are accessible SVG


def test_a_deleted_record_still_counts_as_an_exited_connection(app, history, client, login,
                                                                within):
    from saas.records.services import delete_records

    tenant, user, v1, v2, email, call = history
    with within(tenant):
        record_id = db.session.execute(select(Enrollment.record_id).where(
            Enrollment.sequence_id == v1.id, Enrollment.status == "active")).scalar_one()
        delete_records([record_id])
    login(client, user)
    html = client.get(f"/acme/analytics/sequences/{v2.id}?period=30&version=1").get_data(
        as_text=True)
    kpis = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", html))
    assert (kpis["Connected"], kpis["Active"], kpis["Exited"]) == ("15", "5", "4")
    assert "record deleted: <strong>1</strong>" in html


def test_period_all_counts_older_connections(app, history, client, login):
    tenant, user, v1, v2, email, call = history
    login(client, user)
    html = client.get(f"/acme/analytics/sequences/{v1.id}?period=all").get_data(as_text=True)
    kpis = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", html))
    assert kpis["Connected"] == "17" and kpis["Completed"] == "6"
    assert "Steps of version 2" in html  # the active version's steps by default


def test_timeline_counts_sends_and_replies_per_day(app, history, client, login):
    tenant, user, v1, v2, email, call = history
    login(client, user)
    html = client.get(f"/acme/analytics/sequences/{v1.id}?period=7").get_data(as_text=True)
    table = html.split('id="timeline-table"')[1].split("</table>")[0]
    assert re.search(r"<tfoot><tr><th>Total</th><th class=\"num\">8</th>"
                     r"<th class=\"num\">2</th>", table)


def test_csv_export_has_the_same_figures(app, history, client, login):
    tenant, user, v1, v2, email, call = history
    login(client, user)
    response = client.get(f"/acme/analytics/sequences/{v1.id}/export.csv?period=30&version=1")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    as_dict = {r[0]: r[1:] for r in rows if r}
    assert as_dict["connected"] == ["15"] and as_dict["exited: reply"] == ["2"]
    assert as_dict["goal reached"] == ["3"] and as_dict["median days to complete"] == ["5.00"]
    header = next(r for r in rows if r and r[0] == "step")
    email_row = dict(zip(header, next(r for r in rows if r[:2] == ["1", "Intro email"]),
                         strict=True))
    assert email_row["reached"] == "10" and email_row["opened"] == "5"
    assert email_row["opened rate"] == "0.6250" and email_row["bounced"] == "1"


def test_ab_panel_shows_figures_winner_and_stop_form(app, within, make_tenant, make_user,
                                                      add_records, client, login):
    tenant = make_tenant("acme")
    user = make_user(tenant, roles=[Role.SEQUENCE_MANAGER])
    ids = add_records(tenant, 700)
    with within(tenant):
        sequence = make_sequence()
        step = add_step(sequence, "ab_test", "Subject test", position=0,
                        config=ab_config(display_name="Subject lines"))
        abtests.start_tests(sequence.id)
        ab_sends(step, ids, {"A": 9, "B": 55})
        sequence, step = SimpleNamespace(id=sequence.id), SimpleNamespace(id=step.id)
    login(client, user)
    html = client.get(f"/acme/analytics/sequences/{sequence.id}").get_data(as_text=True)
    assert "Subject lines" in html and "badge-ab-running" in html and "Winner</span>" not in html
    assert "Stop the test" in html  # live figures before the first evaluation
    assert re.search(r'data-version="A">.*?<td class="num">\d{3}</td>\s*<td class="num">9</td>',
                     html, re.S)
    with within(tenant):
        test_id = abtests.ab_test_for(step.id).id
        abtests.evaluate(test_id)
    html = client.get(f"/acme/analytics/sequences/{sequence.id}").get_data(as_text=True)
    assert "Clear winner" in html and "badge-winner" in html and "Stop the test" not in html
    assert re.search(r'data-version="B">\s*<td>B · Question subject <span class="badge '
                     r'badge-winner">Winner</span>', html)


def test_stop_route_sends_the_chosen_version(app, within, make_tenant, make_user, client,
                                             login):
    tenant = make_tenant("acme")
    user = make_user(tenant, roles=[Role.SEQUENCE_MANAGER])
    with within(tenant):
        sequence = make_sequence()
        step = add_step(sequence, "ab_test", "Subject test", position=0, config=ab_config())
        test_id = abtests.start_tests(sequence.id)[0].id
        step_id = step.id
    login(client, user)
    missing = client.post(f"/acme/analytics/ab/{test_id}/stop", data={}, follow_redirects=True)
    assert "Choose the version to send from now on." in missing.get_data(as_text=True)
    done = client.post(f"/acme/analytics/ab/{test_id}/stop", data={"version": "B"},
                       follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "version B is sent from now on" in html and "Stopped by a person" in html
    again = client.post(f"/acme/analytics/ab/{test_id}/stop", data={"version": "A"},
                        follow_redirects=True)
    assert "Only a running test can be stopped" in again.get_data(as_text=True)
    with within(tenant):
        step = db.session.execute(select(Step).where(Step.id == step_id)).scalar_one()
        assert abtests.version_for(step, 12345) == "B"


def test_sellers_cannot_open_analytics(app, make_tenant, make_user, client, login):
    tenant = make_tenant("acme")
    seller = make_user(tenant, roles=[Role.SELLER])
    login(client, seller)
    assert client.get("/acme/analytics").status_code == 403


def test_a_snapshot_is_reused_until_refreshed(app, history, client, login, within):
    tenant, user, v1, v2, email, call = history
    login(client, user)
    path = f"/acme/analytics/sequences/{v1.id}?period=30&version=1"
    first = client.get(path).get_data(as_text=True)
    assert "Figures computed just now" in first
    with within(tenant):  # a new connection after the snapshot was computed
        from saas.sequences.models import Sequence
        seq = db.session.execute(select(Sequence).where(Sequence.id == v1.id)).scalar_one()
        enroll(seq, [history_record_id(tenant)], status="active")

    def connected(html):
        return dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", html))["Connected"]

    assert connected(client.get(path).get_data(as_text=True)) == "15"
    assert connected(client.get(path + "&fresh=1").get_data(as_text=True)) == "16"


def history_record_id(tenant) -> int:
    from saas.records.models import Record
    return db.session.execute(select(Record.id).order_by(Record.id.desc()).limit(1)).scalar_one()


def test_empty_states_say_what_to_do(app, within, make_tenant, make_user, client, login):
    tenant = make_tenant("acme")
    user = make_user(tenant, roles=[Role.SEQUENCE_MANAGER])
    login(client, user)
    assert "No sequences yet." in client.get("/acme/analytics").get_data(as_text=True)
    with within(tenant):
        sequence_id = make_sequence("Empty one", status="draft").id
    listing = client.get("/acme/analytics").get_data(as_text=True)
    assert "Empty one" in listing
    html = client.get(f"/acme/analytics/sequences/{sequence_id}").get_data(as_text=True)
    assert "No record was connected all time." in html
    assert "This version has no steps yet." in html
    assert "A/B tests" not in html
