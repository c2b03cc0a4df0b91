"""Connecting from the record page, a list selection and the Connected records tab."""

from __future__ import annotations

from rq import Queue
from sqlalchemy import select

from saas.auth.models import Role
from saas.engine.models import Enrollment, StepRun
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.segments import services as segment_services
from saas.segments.models import Segment
from saas.tenancy import tenant_context
from tests.engine.factories import build_sequence
from worker.runner import AppWorker

CALL = {"type": "call", "name": "Intro call"}
TRADE_SHOW = {"op": "and", "rules": [{"field": "lead_source", "operator": "equals",
                                      "value": "Trade show"}]}


def _setup(app, admin, specs=(CALL,), **kw):
    with app.app_context(), tenant_context(admin.tenant.id):
        seq = build_sequence(list(specs), **kw)
        db.session.commit()
        return seq.id


def _enrollments(app, tenant_id):
    with app.app_context(), tenant_context(tenant_id):
        return [(e.record_id, e.status, e.seller_id, e.exit_reason) for e in db.session.execute(
            select(Enrollment).order_by(Enrollment.id)).scalars()]


def test_connect_from_the_record_page_then_pause_resume_disconnect(app, admin_client, admin,
                                                                  add_records):
    record_id = add_records(admin.tenant, 1, owner_id=admin.id)[0]
    seq_id = _setup(app, admin, name="Trade show follow-up")
    page = admin_client.get(f"/acme/records/{record_id}")
    assert "Connect sequence" in page.text and "Trade show follow-up" in page.text
    r = admin_client.post(f"/acme/records/{record_id}/sequences", data={"sequence_id": seq_id},
                          follow_redirects=True)
    assert "Connected to “Trade show follow-up”" in r.text
    assert "Current step: Intro call" in r.text
    again = admin_client.post(f"/acme/records/{record_id}/sequences",
                              data={"sequence_id": seq_id}, follow_redirects=True)
    assert "already running in “Trade show follow-up”" in again.text
    (enrollment_id,) = [e.id for e in _all(app, admin)]
    r = admin_client.post(f"/acme/enrollments/{enrollment_id}/pause", follow_redirects=True)
    assert "Paused" in r.text and ">Resume<" in r.text
    admin_client.post(f"/acme/enrollments/{enrollment_id}/resume")
    assert _enrollments(app, admin.tenant.id)[0][1] == "active"
    r = admin_client.post(f"/acme/enrollments/{enrollment_id}/disconnect", follow_redirects=True)
    assert "Disconnected" in r.text
    with app.app_context(), tenant_context(admin.tenant.id):
        statuses = db.session.execute(select(StepRun.status)).scalars().all()
    assert statuses == ["cancelled"]
    assert _enrollments(app, admin.tenant.id)[0][1] == "disconnected"


def _all(app, admin):
    with app.app_context(), tenant_context(admin.tenant.id):
        rows = db.session.execute(select(Enrollment)).scalars().all()
        db.session.expunge_all()
        return rows


def test_refusals_say_why(app, admin_client, admin, add_records):
    record_id = add_records(admin.tenant, 1, owner_id=admin.id)[0]
    inactive = _setup(app, admin, name="Old", status="inactive")
    for_opportunities = _setup(app, admin, name="Deals", record_type="opportunity")
    r = admin_client.post(f"/acme/records/{record_id}/sequences",
                          data={"sequence_id": inactive}, follow_redirects=True)
    assert "“Old” is not active" in r.text
    r = admin_client.post(f"/acme/records/{record_id}/sequences",
                          data={"sequence_id": for_opportunities}, follow_redirects=True)
    assert "“Deals” is a sequence for opportunities; this record is a lead." in r.text
    assert _enrollments(app, admin.tenant.id) == []


def test_connect_a_list_selection(app, admin_client, admin, add_records):
    ids = add_records(admin.tenant, 3, owner_id=admin.id)
    seq_id = _setup(app, admin, name="Nurture")
    page = admin_client.get("/acme/leads")
    assert "Connect to sequence…" in page.text
    r = admin_client.post("/acme/leads/bulk", data={"action": "sequence", "sequence_id": seq_id,
                                                    "ids": ids[:2]}, follow_redirects=True)
    assert "2 connected to “Nurture”" in r.text
    r = admin_client.post("/acme/leads/bulk", data={"action": "sequence", "sequence_id": seq_id,
                                                    "ids": ids}, follow_redirects=True)
    assert "1 connected to “Nurture”. 2 skipped" in r.text


def test_connect_a_segment_now_and_as_members_join_then_assign(app, admin_client, admin,
                                                              make_user, add_records,
                                                              redis_conn):
    seller = make_user(admin.tenant, roles=[Role.SELLER], name="Sid Seller")
    add_records(admin.tenant, 3, lead_source="Trade show", owner_id=seller.id)
    add_records(admin.tenant, 1, lead_source="Trade show", owner_id=None,
                email="unowned@example.com", last_name="Nobody")
    add_records(admin.tenant, 2, lead_source="Web", email=lambda i: f"web{i}@example.com")
    seq_id = _setup(app, admin, name="Trade show follow-up")
    with app.app_context(), tenant_context(admin.tenant.id):
        segment = Segment(name="Trade show leads", record_type="lead", rules=TRADE_SHOW)
        db.session.add(segment)
        db.session.commit()
        segment_services.activate(segment)
        segment_id = segment.id
    tab = admin_client.get(f"/acme/sequences/{seq_id}/connected")
    assert "No records connected yet" in tab.text and "Trade show leads (4)" in tab.text
    r = admin_client.post(f"/acme/sequences/{seq_id}/connected/segments",
                          data={"segment_id": segment_id}, follow_redirects=True)
    assert "Connecting the 4 members" in r.text and "Connecting…" in r.text
    AppWorker([Queue("default", connection=redis_conn)], connection=redis_conn,
              app=app).work(burst=True)
    tab = admin_client.get(f"/acme/sequences/{seq_id}/connected")
    assert "Connected 4 of 4." in tab.text and "1 connected record waits for a seller." in tab.text
    assert "Trade show leads (4)" not in tab.text  # the picker omits the connected segment
    assert "Every active segment of this record type is connected." in tab.text
    assert tab.text.count("Intro call") == 3 and "Assign" in tab.text
    (waiting,) = [e for e in _all(app, admin) if e.seller_id is None]
    admin_client.post(f"/acme/enrollments/{waiting.id}/assign", data={"seller_id": seller.id})
    assert all(e[2] == seller.id for e in _enrollments(app, admin.tenant.id))
    # A new member joins: the tick connects it.
    newcomer = add_records(admin.tenant, 1, lead_source="Trade show", owner_id=seller.id,
                           email="new@example.com")[0]
    with app.app_context(), tenant_context(admin.tenant.id):
        from saas.segments.membership import refresh_records

        refresh_records([newcomer])
        db.session.commit()
    with app.app_context():
        assert run_tick()["connected"] == 1
    assert len(_enrollments(app, admin.tenant.id)) == 5


def test_a_connect_job_lost_with_redis_is_enqueued_again_by_the_tick(app, admin, add_records,
                                                                     redis_conn):
    from datetime import timedelta

    from saas.engine.models import ConnectJob
    from saas.timeutil import utcnow

    ids = add_records(admin.tenant, 3, owner_id=admin.id)
    seq_id = _setup(app, admin, name="Nurture")
    with app.app_context(), tenant_context(admin.tenant.id):
        job = ConnectJob(sequence_id=seq_id, record_ids=ids, total=3,
                         created_at=utcnow() - timedelta(minutes=5))
        db.session.add(job)
        db.session.commit()  # never enqueued: as if Redis had been flushed
    with app.app_context():
        run_tick()
    AppWorker([Queue("default", connection=redis_conn)], connection=redis_conn,
              app=app).work(burst=True)
    assert len(_enrollments(app, admin.tenant.id)) == 3


def test_connected_records_are_paginated_and_filtered(app, admin_client, admin, add_records):
    ids = add_records(admin.tenant, 55, owner_id=admin.id)
    seq_id = _setup(app, admin, name="Big")
    admin_client.post("/acme/leads/bulk", data={"action": "sequence", "sequence_id": seq_id,
                                                "ids": ids})
    first = admin_client.get(f"/acme/sequences/{seq_id}/connected")
    assert first.text.count("Intro call") == 50 and "Next page" in first.text
    after = first.text.split("after=")[1].split('"')[0].split("&")[0]
    second = admin_client.get(f"/acme/sequences/{seq_id}/connected?after={after}")
    assert second.text.count("Intro call") == 5 and "Next page" not in second.text
    paused = admin_client.get(f"/acme/sequences/{seq_id}/connected?status=paused")
    assert "No records with this status." in paused.text and "Active (55)" in paused.text


def test_a_connect_job_runs_its_chunks_side_by_side_once_each(app, admin, add_records,
                                                              monkeypatch):
    from saas.engine import connect_job
    from saas.engine.connect import connect_many
    from saas.engine.models import ConnectJob

    ids = add_records(admin.tenant, 25, owner_id=admin.id)
    seq_id = _setup(app, admin, name="Nurture")
    monkeypatch.setattr(connect_job, "CHUNK", 4)  # 7 chunks, two at a time on PostgreSQL
    monkeypatch.setitem(app.config, "ENGINE_TICK_WORKERS", 2)
    with app.app_context(), tenant_context(admin.tenant.id):
        connect_many(ids[:3], seq_id)  # already running: skipped by the job
        job = ConnectJob(sequence_id=seq_id, record_ids=ids, total=25)
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    with app.app_context():
        connect_job.run_connect_job(job_id, admin.tenant.id)
    with app.app_context(), tenant_context(admin.tenant.id):
        job = db.session.get(ConnectJob, job_id)
        assert (job.status, job.done, job.connected, job.skipped) == ("done", 25, 22, 3)
        runs = db.session.execute(select(StepRun.record_id)).scalars().all()
    assert sorted(runs) == sorted(ids)  # one first step each, none twice
    assert sorted(e[0] for e in _enrollments(app, admin.tenant.id)) == sorted(ids)


def test_pause_resume_and_disconnect_a_selection(app, admin_client, admin, add_records):
    ids = add_records(admin.tenant, 4, owner_id=admin.id)
    seq_id = _setup(app, admin, name="Nurture")
    other_id = _setup(app, admin, name="Other")
    with app.app_context(), tenant_context(admin.tenant.id):
        from saas.engine.connect import connect_many

        connect_many(ids, seq_id)
        connect_many(ids[:1], other_id)
        db.session.commit()
    rows = _of_sequence(app, admin.tenant.id, seq_id)
    enrollments = {record_id: eid for eid, record_id, _ in rows}
    other = [eid for eid, _, _ in _of_sequence(app, admin.tenant.id, other_id)]
    url = f"/acme/sequences/{seq_id}/connected/bulk"
    picked = [str(enrollments[i]) for i in ids[:2]] + [str(other[0])]
    done = admin_client.post(url, data={"ids": picked, "action": "pause"}, follow_redirects=True)
    assert "2 records paused." in done.text
    assert "Paused (2)" in done.text and "Active (2)" in done.text
    again = admin_client.post(url, data={"ids": picked, "action": "pause"}, follow_redirects=True)
    assert "Nothing changed: none of the selected records could be paused." in again.text
    resumed = admin_client.post(url, data={"ids": picked[:1], "action": "resume"},
                                follow_redirects=True)
    assert "One record resumed." in resumed.text
    gone = admin_client.post(url, data={"ids": [str(e) for e in enrollments.values()],
                                        "action": "disconnect"}, follow_redirects=True)
    assert "4 records disconnected." in gone.text and "Disconnected (4)" in gone.text
    assert [s for _, _, s in _of_sequence(app, admin.tenant.id, other_id)] == ["active"]
    with app.app_context(), tenant_context(admin.tenant.id):
        live = db.session.execute(select(StepRun.status).where(
            StepRun.sequence_id == seq_id)).scalars().all()
    assert set(live) == {"cancelled"}
    none = admin_client.post(url, data={"action": "pause"}, follow_redirects=True)
    assert "Select at least one record first." in none.text
    bad = admin_client.post(url, data={"ids": picked, "action": "explode"}, follow_redirects=True)
    assert "Choose what to do with the selected records." in bad.text


def _of_sequence(app, tenant_id, sequence_id):
    with app.app_context(), tenant_context(tenant_id):
        return [tuple(r) for r in db.session.execute(
            select(Enrollment.id, Enrollment.record_id, Enrollment.status)
            .where(Enrollment.sequence_id == sequence_id).order_by(Enrollment.id)).all()]


def test_find_a_connected_record_by_name_company_or_email(app, admin_client, admin,
                                                          add_records):
    ids = add_records(admin.tenant, 3, owner_id=admin.id,
                      first_name=lambda i: ["Ana", "Ben", "Cy"][i],
                      last_name=lambda i: ["Lima", "Ode", "Roe"][i])
    seq_id = _setup(app, admin, name="Nurture")
    with app.app_context(), tenant_context(admin.tenant.id):
        from saas.engine.connect import connect_many

        connect_many(ids, seq_id)
        db.session.commit()
    url = f"/acme/sequences/{seq_id}/connected"
    found = admin_client.get(f"{url}?q=ode").text
    assert "Ben Ode" in found and "Ana Lima" not in found and "Cy Roe" not in found
    assert 'value="ode"' in found and ">Clear</a>" in found
    by_email = admin_client.get(f"{url}?q=PERSON0-acme").text
    assert "Ana Lima" in by_email and "Ben Ode" not in by_email
    none = admin_client.get(f"{url}?q=zzz").text
    assert "No connected record matches “zzz”." in none
    paused = admin_client.get(f"{url}?q=lima&status=paused").text
    assert "No connected record matches “lima” with this status." in paused
    assert admin_client.get(f"{url}?q=%25").status_code == 200  # a % is a character, not a wildcard


def test_a_seller_cannot_pause_resume_or_disconnect_another_sellers_connection(
        app, admin, add_records, make_user, login):
    olga = make_user(admin.tenant, roles=[Role.SELLER], email="olga@acme.example", name="Olga")
    sam = make_user(admin.tenant, roles=[Role.SELLER], email="sam@acme.example", name="Sam")
    record_id = add_records(admin.tenant, 1, owner_id=olga.id)[0]
    seq_id = _setup(app, admin, name="Nurture")
    with app.app_context(), tenant_context(admin.tenant.id):
        from saas.engine.connect import connect_many

        connect_many([record_id], seq_id)
        db.session.commit()
    [(enrollment_id, _record, status)] = _of_sequence(app, admin.tenant.id, seq_id)
    assert status == "active" and _enrollments(app, admin.tenant.id)[0][2] == olga.id

    client = app.test_client()
    assert login(client, sam).status_code == 302
    page = client.get(f"/acme/records/{record_id}").text
    assert "Nurture" in page  # the connection is shown, without its buttons
    assert f"/enrollments/{enrollment_id}/pause" not in page
    assert f"/enrollments/{enrollment_id}/disconnect" not in page
    for action in ("pause", "resume", "disconnect"):
        assert client.post(f"/acme/enrollments/{enrollment_id}/{action}").status_code == 404
    assert _of_sequence(app, admin.tenant.id, seq_id)[0][2] == "active"

    owner = app.test_client()
    assert login(owner, olga).status_code == 302
    page = owner.get(f"/acme/records/{record_id}").text
    assert f"/enrollments/{enrollment_id}/pause" in page
    disconnect = page.split(f"/enrollments/{enrollment_id}/disconnect", 1)[1].split("</form>")[0]
    assert 'class="button quiet-danger small-button"' in disconnect  # quiet until pointed at
    assert owner.post(f"/acme/enrollments/{enrollment_id}/pause").status_code == 302
    assert _of_sequence(app, admin.tenant.id, seq_id)[0][2] == "paused"
