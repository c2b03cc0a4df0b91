"""Issue 18, pages that contradict themselves: the Connected records tab after a connect job
(its progress line triggers a refresh), the picker without connected segments or sequences the
record runs in, progress and current step as they are, and assigning a seller to a selection."""

from __future__ import annotations

import re

from sqlalchemy import select

from saas.auth.models import Role
from saas.engine import assigning
from saas.engine.connect import connect_many, connect_record
from saas.engine.models import ConnectJob, Enrollment, StepRun
from saas.errors import ServiceError
from saas.extensions import db
from saas.records.models import Record
from saas.tenancy import tenant_context
from tests.engine.factories import build_sequence

STRAIGHT = [{"type": "task", "name": "Research"}, {"type": "wait", "config": {"hours": 1}},
            {"type": "call", "name": "Follow-up call"}]


def _sequence(app, tenant, specs=STRAIGHT, **kw):
    with app.app_context(), tenant_context(tenant.id):
        sequence = build_sequence(list(specs), **kw)
        db.session.commit()
        return sequence.id


def _connect(app, tenant, ids, sequence_id):
    with app.app_context(), tenant_context(tenant.id):
        connect_many(ids, sequence_id)
        db.session.commit()
        return db.session.execute(select(Enrollment.id).order_by(Enrollment.id)).scalars().all()


def _sellers(app, tenant):
    with app.app_context(), tenant_context(tenant.id):
        return dict(db.session.execute(select(Enrollment.id, Enrollment.seller_id)).all())


def test_a_finished_job_answers_with_a_trigger_that_refreshes_the_tab(app, admin_client, admin):
    sequence_id = _sequence(app, admin.tenant)
    with app.app_context(), tenant_context(admin.tenant.id):
        running = ConnectJob(sequence_id=sequence_id, total=3, done=1, status="running")
        done = ConnectJob(sequence_id=sequence_id, total=3, done=3, connected=3, needs_seller=3,
                          status="done")
        db.session.add_all([running, done])
        db.session.commit()
        running_id, done_id = running.id, done.id
    url = f"/acme/sequences/{sequence_id}/connect-jobs"
    polled = admin_client.get(f"{url}/{running_id}", headers={"HX-Request": "true"})
    assert "Connecting… 1 of 3" in polled.text and "HX-Trigger" not in polled.headers
    finished = admin_client.get(f"{url}/{done_id}", headers={"HX-Request": "true"})
    assert finished.headers["HX-Trigger"] == "connected-changed"
    assert "Connected 3 of 3." in finished.text
    assert "wait for a seller" not in finished.text  # a count of then, not of now
    tab = admin_client.get(f"/acme/sequences/{sequence_id}/connected?status=active")
    region = tab.text.split('id="connected-region"', 1)[1]
    assert f'hx-get="/acme/sequences/{sequence_id}/connected?status=active"' in region
    assert 'hx-trigger="connected-changed from:body"' in region
    assert 'hx-select="#connected-region"' in region


def test_the_waiting_line_and_counts_say_what_is_true_now(app, admin_client, admin, make_user,
                                                          add_records):
    sam = make_user(admin.tenant, roles=[Role.SELLER], name="Sam Seller")
    ids = add_records(admin.tenant, 3, owner_id=None)
    sequence_id = _sequence(app, admin.tenant)
    enrollments = _connect(app, admin.tenant, ids, sequence_id)
    tab = admin_client.get(f"/acme/sequences/{sequence_id}/connected")
    assert "3 connected records wait for a seller." in tab.text
    assert "Needs a seller (3)" in tab.text
    r = admin_client.post(f"/acme/sequences/{sequence_id}/connected/bulk", data={
        "ids": enrollments, "action": "assign", "seller_id": sam.id}, follow_redirects=True)
    assert "Sam Seller assigned to 3 records; their sequences have started." in r.text
    assert "wait for a seller" not in r.text and "waits for a seller" not in r.text
    assert "Needs a seller (0)" in r.text


def test_bulk_assign_starts_only_the_waiting_ones_and_says_so(app, admin_client, admin, make_user,
                                                              add_records):
    sam = make_user(admin.tenant, roles=[Role.SELLER], name="Sam Seller")
    olga = make_user(admin.tenant, roles=[Role.SELLER], name="Olga Other")
    waiting = add_records(admin.tenant, 2, owner_id=None)
    owned = add_records(admin.tenant, 1, owner_id=olga.id, email="owned@example.com")
    sequence_id = _sequence(app, admin.tenant)
    enrollments = _connect(app, admin.tenant, waiting + owned, sequence_id)
    url = f"/acme/sequences/{sequence_id}/connected/bulk"
    r = admin_client.post(url, data={"ids": enrollments, "action": "assign", "seller_id": ""},
                          follow_redirects=True)
    assert "Choose a seller to assign." in r.text
    assert set(_sellers(app, admin.tenant).values()) == {None, olga.id}
    r = admin_client.post(url, data={"ids": enrollments, "action": "assign",
                                     "seller_id": sam.id}, follow_redirects=True)
    assert ("Sam Seller assigned to 2 records; their sequences have started. One other "
            "selected record was not waiting for a seller: it is unchanged.") in r.text
    assert sorted(_sellers(app, admin.tenant).values()) == sorted([sam.id, sam.id, olga.id])
    with app.app_context(), tenant_context(admin.tenant.id):
        runs = db.session.execute(select(StepRun.seller_id, StepRun.status)).all()
    assert sorted(runs) == sorted([(sam.id, "open"), (sam.id, "open"), (olga.id, "open")])
    again = admin_client.post(url, data={"ids": enrollments, "action": "assign",
                                         "seller_id": olga.id}, follow_redirects=True)
    assert "Nothing changed: none of the selected records was waiting for a seller." in again.text


def test_bulk_assign_leaves_another_sequences_and_another_tenants_connections(
        app, admin, make_tenant, make_user, add_records):
    sam = make_user(admin.tenant, roles=[Role.SELLER], name="Sam Seller")
    first = _sequence(app, admin.tenant, name="First")
    second = _sequence(app, admin.tenant, name="Second")
    mine = _connect(app, admin.tenant, add_records(admin.tenant, 1, owner_id=None), first)
    other = _connect(app, admin.tenant, add_records(admin.tenant, 1, owner_id=None,
                                                    email="x@example.com"), second)
    other = [i for i in other if i not in mine]
    beta = make_tenant("beta")
    beta_sequence = _sequence(app, beta)
    theirs = _connect(app, beta, add_records(beta, 1, owner_id=None), beta_sequence)
    with app.app_context(), tenant_context(admin.tenant.id):
        result = assigning.assign_selected(first, mine + other + theirs, sam.id)
        assert (result.assigned, result.left) == (1, 2)
    assert _sellers(app, admin.tenant) == {mine[0]: sam.id, other[0]: None}
    assert _sellers(app, beta) == {theirs[0]: None}
    beta_seller = make_user(beta, roles=[Role.SELLER], name="Bea")
    with app.app_context(), tenant_context(admin.tenant.id):
        try:
            assigning.assign_selected(second, other, beta_seller.id)
        except ServiceError as error:
            assert str(error) == "Choose a seller to assign."
        else:
            raise AssertionError("a seller of another tenant was accepted")


def test_seller_lists_preselect_nobody(app, admin_client, admin, add_records):
    ids = add_records(admin.tenant, 1, owner_id=None)
    sequence_id = _sequence(app, admin.tenant)
    _connect(app, admin.tenant, ids, sequence_id)
    tab = admin_client.get(f"/acme/sequences/{sequence_id}/connected").text
    lists = re.findall(r'<select[^>]*name="seller_id"[^>]*>\s*<option([^>]*)>([^<]*)<', tab)
    assert len(lists) == 2  # the bulk bar's and the row's
    assert all(option == (' value=""', "Choose a seller") for option in lists)
    assert "selected" not in "".join(re.findall(r'name="seller_id".*?</select>', tab, re.S))


def test_progress_and_current_step_as_they_are(app, admin_client, admin, add_records):
    ids = add_records(admin.tenant, 2, owner_id=admin.id)
    straight = _sequence(app, admin.tenant, name="Straight")
    branched = _sequence(app, admin.tenant, [
        {"type": "call", "name": "Call"},
        {"type": "call_condition", "name": "Reached?",
         "yes": [{"type": "task", "name": "Send deck"}], "no": [{"type": "task"}]}],
        name="Branched")
    _connect(app, admin.tenant, ids[:1], straight)
    _connect(app, admin.tenant, ids[1:], branched)
    tab = admin_client.get(f"/acme/sequences/{straight}/connected").text
    assert '<td class="num">0 / 3</td>' in tab and "3+" not in tab
    assert "<td>Research</td>" in tab
    tab = admin_client.get(f"/acme/sequences/{branched}/connected").text
    assert "0 / 2+" in tab
    with app.app_context(), tenant_context(admin.tenant.id):
        enrollment = db.session.execute(select(Enrollment).where(
            Enrollment.lineage_id == straight)).scalar_one()
        from saas.engine.lifecycle import end_enrollment

        enrollment.steps_done = 3
        end_enrollment(enrollment, "completed")
        db.session.commit()
    tab = admin_client.get(f"/acme/sequences/{straight}/connected").text
    assert '<td class="num">3 / 3</td>' in tab
    assert "<td>Research</td>" not in tab and "<td>—</td>" in tab


def test_connect_sequence_omits_the_ones_the_record_runs_in(app, admin_client, admin,
                                                            add_records):
    (record_id,) = add_records(admin.tenant, 1, owner_id=admin.id)
    running = _sequence(app, admin.tenant, name="Running one")
    _sequence(app, admin.tenant, name="Another one")
    with app.app_context(), tenant_context(admin.tenant.id):
        record = db.session.execute(select(Record).where(Record.id == record_id)).scalar_one()
        connect_record(record, running)
        db.session.commit()
    page = admin_client.get(f"/acme/records/{record_id}").text
    picker = page.split('id="connect-sequence"', 1)[1].split("</select>", 1)[0]
    assert "Another one" in picker and "Running one" not in picker
    admin_client.post(f"/acme/enrollments/{_ids(app, admin)[0]}/pause")
    page = admin_client.get(f"/acme/records/{record_id}").text
    picker = page.split('id="connect-sequence"', 1)[1].split("</select>", 1)[0]
    assert "Running one" not in picker  # paused still runs in it
    admin_client.post(f"/acme/enrollments/{_ids(app, admin)[0]}/disconnect")
    page = admin_client.get(f"/acme/records/{record_id}").text
    picker = page.split('id="connect-sequence"', 1)[1].split("</select>", 1)[0]
    assert "Running one" in picker and "Another one" in picker


def test_a_record_running_in_every_sequence_says_so(app, admin_client, admin, add_records):
    (record_id,) = add_records(admin.tenant, 1, owner_id=admin.id)
    sequence_id = _sequence(app, admin.tenant, name="Only one")
    _connect(app, admin.tenant, [record_id], sequence_id)
    page = admin_client.get(f"/acme/records/{record_id}").text
    assert 'id="connect-sequence"' not in page
    assert "This lead already runs in every active lead sequence." in page


def _ids(app, admin):
    with app.app_context(), tenant_context(admin.tenant.id):
        return db.session.execute(select(Enrollment.id).order_by(Enrollment.id)).scalars().all()
