"""The input boundary (saas/web/params.py, saas/web/pagination.py) and the DataError safety net
(saas/web/errors.py), each through the page a person uses."""

from __future__ import annotations

import base64
import json
import logging

from sqlalchemy import Integer, cast, func, literal, select

from saas.extensions import db
from saas.imports.models import ImportJob
from saas.messaging.models import OutboxMessage
from saas.records.models import Record
from saas.sequences.models import Sequence, Step
from saas.tenancy import tenant_context
from saas.web.pagination import encode_cursor


def _in(app, admin, fn):
    with app.app_context(), tenant_context(admin.tenant.id):
        result = fn()
        db.session.commit()
        return result


def test_nul_and_control_characters_are_removed_before_anything_reads_them(app, admin_client,
                                                                          admin):
    response = admin_client.post("/acme/leads/new", data={
        "first_name": "Ri\x00ta", "last_name": "Ta\x01\x1fr\tget", "status": "new",
        "company": "Ac\x00me\nInc"})
    assert response.status_code == 302
    names = _in(app, admin, lambda: db.session.execute(
        select(Record.first_name, Record.last_name, Record.company)).one())
    assert tuple(names) == ("Rita", "Tar\tget", "Acme\nInc")
    assert admin_client.get("/acme/leads?q=%00").status_code == 200


def test_export_validates_before_streaming(admin_client):
    response = admin_client.get("/acme/leads/export.csv?q=%00&f=created_at&op=on&v=%00")
    assert response.status_code in (200, 302)
    response.get_data()  # the whole body arrives: nothing breaks off mid-stream


def test_a_forged_or_tampered_cursor_restarts_at_the_first_page(app, admin_client, admin,
                                                                add_records):
    add_records(admin.tenant, 60)
    first = admin_client.get("/acme/leads").get_data(as_text=True)
    forged = [base64.urlsafe_b64encode(json.dumps(v).encode()).decode()
              for v in (["x", 1], [2**70, 1], [1.5, 2])]
    with app.test_request_context():
        signed_junk = [encode_cursor(v) for v in (("x", "y"), (2**70, 1), (1.5, True),
                                                  ("2020-01-01", 2**64))]
    for cursor in [*forged, *signed_junk, "!!!", "a" * 5000]:
        for path in ("/acme/leads", "/acme/settings/users", "/acme/settings/audit",
                     "/acme/settings/outbox", "/acme/imports", "/acme/worklist",
                     "/acme/settings/messaging/suppressions"):
            response = admin_client.get(path, query_string={"after": cursor})
            assert response.status_code == 200, (path, cursor)
    page = admin_client.get("/acme/leads", query_string={"after": forged[0]})
    assert page.get_data(as_text=True).count("Last00") == first.count("Last00")


def test_a_real_cursor_still_turns_the_page(admin_client, admin, add_records):
    add_records(admin.tenant, 60)
    first = admin_client.get("/acme/leads?sort=name").get_data(as_text=True)
    marker = 'name="after" value="' if 'name="after"' in first else "after="
    assert marker in first
    cursor = first.split(marker, 1)[1].split('"', 1)[0].split("&", 1)[0]
    second = admin_client.get(f"/acme/leads?sort=name&after={cursor}").get_data(as_text=True)
    assert "Last0059" in second and "Last0000" not in second


def test_a_database_error_the_boundary_missed_is_a_400_logged_with_the_request_id(
        app, admin_client, admin, caplog, monkeypatch):
    """A value the boundary let through and the database refuses (here the list's count runs a
    cast PostgreSQL refuses, standing for any missed case): the safety net answers 400, rolls
    back and logs the request id."""
    from saas.records import queries

    def refused_by_the_database(query):
        return db.session.execute(select(cast(literal("abc"), Integer))).scalar_one()

    monkeypatch.setattr(queries, "count_capped", refused_by_the_database)
    caplog.set_level(logging.WARNING, logger="saas.web.errors")
    response = admin_client.get("/acme/leads/count", headers={"X-Request-ID": "probe-42"})
    assert response.status_code == 400
    assert "could not be used" in response.get_data(as_text=True)
    assert response.headers["X-Request-ID"] == "probe-42"
    assert any("request_id=probe-42" in r.getMessage() for r in caplog.records)
    assert admin_client.get("/acme/leads").status_code == 200  # the session was rolled back


def _sequence(app, admin):
    def build():
        sequence = Sequence(name="Seq", record_type="lead", status="draft", settings={})
        db.session.add(sequence)
        db.session.flush()
        sequence.lineage_id = sequence.id
        db.session.add(Step(sequence_id=sequence.id, branch="main", position=0, type="task",
                            name="Task", config={}))
        return sequence.id
    return _in(app, admin, build)


def test_window_days_empty_or_repeated_is_a_field_message(app, admin_client, admin):
    sequence_id = _sequence(app, admin)
    for days in ([""], ["", ""], ["1", "1", "x", "01"]):
        response = admin_client.post(f"/acme/sequences/{sequence_id}/settings", data={
            "name": "Seq", "window_enabled": "y", "window_days": days,
            "window_start": "09:00", "window_end": "17:00"})
        assert response.status_code in (302, 422), days
    response = admin_client.post(f"/acme/sequences/{sequence_id}/settings", data={
        "name": "Seq", "window_enabled": "y", "window_days": [""],
        "window_start": "09:00", "window_end": "17:00"})
    assert "Choose at least one day of the week." in response.get_data(as_text=True)


def test_a_step_place_past_any_id_is_refused_quietly(app, admin_client, admin):
    sequence_id = _sequence(app, admin)
    for place in ("99999999999999999999:yes:0", "1:main:99999999999999999999", "root:main:x"):
        response = admin_client.post(f"/acme/sequences/{sequence_id}/steps",
                                     data={"type": "call", "place": place})
        assert response.status_code < 500, place


def test_import_mapping_with_two_columns_on_a_name_that_is_no_field(app, admin_client, admin):
    def build():
        job = ImportJob(record_type="lead", filename="p.csv", content=b"A,B\nx,y\n",
                        delimiter=",", headers=["A", "B"], mapping={}, status="uploaded")
        db.session.add(job)
        db.session.flush()
        return job.id
    job_id = _in(app, admin, build)
    response = admin_client.post(f"/acme/imports/{job_id}/mapping", data={
        "col_0": "nope", "col_1": "nope", "duplicate_mode": "skip"})
    assert response.status_code == 200
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_a_test_text_to_an_impossible_number_says_so_and_sends_nothing(app, admin_client,
                                                                       admin):
    for phone in ("+1" * 5000, "+33\x00\x01", "0611111111"):
        response = admin_client.post("/acme/settings/messaging/test", data={"phone": phone},
                                     follow_redirects=True)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert "international format" in page or "not a valid phone number" in page, phone
    assert _in(app, admin, lambda: db.session.execute(
        select(func.count(OutboxMessage.id))).scalar()) == 0
