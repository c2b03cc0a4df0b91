"""POST /records/bulk: up to 1,000 records in one transaction, a result per item."""

from __future__ import annotations

import threading
import time

import psycopg
from sqlalchemy import make_url

from tests.conftest import TEST_DATABASE_URL


def test_bulk_upsert_creates_updates_and_reports_each_item(api, admin, add_records):
    add_records(admin.tenant, 2)  # person0-acme@example.com, person1-acme@example.com
    body = {"type": "lead", "records": [
        {"email": "person0-acme@example.com", "company": "Updated Co"},
        {"email": "new@example.com", "last_name": "New", "phone": "+44 20 7946 0958"},
        {"email": "not an email", "last_name": "Bad"},
        {"last_name": "NoEmail", "status": "qualified"},
        {"email": "NEW@example.com", "last_name": "Twice"},
        {"email": "other@example.com", "first_name": "", "last_name": ""},
        {"email": "c@example.com", "last_name": "C", "custom": {"nope": "x"}},
    ]}
    answer = api.post("/records/bulk", body)
    assert answer.status_code == 200, answer.get_json()
    result = answer.get_json()
    statuses = [r["status"] for r in result["results"]]
    assert statuses == ["updated", "created", "error", "created", "error", "error", "error"]
    assert (result["created"], result["updated"], result["failed"]) == (2, 1, 4)
    errors = {r["index"]: {e["field"] for e in r["errors"]} for r in result["results"]
              if r["status"] == "error"}
    assert errors == {2: {"/email"}, 4: {"/email"}, 5: {"/last_name"}, 6: {"/custom/nope"}}
    updated = api.get(f"/records/{result['results'][0]['id']}").get_json()
    assert updated["company"] == "Updated Co" and updated["last_name"] == "Last0000"
    created = api.get(f"/records/{result['results'][1]['id']}").get_json()
    assert created["phone"] == "+442079460958" and created["email"] == "new@example.com"
    assert len(api.get("/records?limit=200").get_json()["data"]) == 4


def test_bulk_create_only_refuses_existing_emails(api, admin, add_records):
    add_records(admin.tenant, 1)
    answer = api.post("/records/bulk", {"type": "lead", "match": "none", "records": [
        {"email": "person0-acme@example.com", "last_name": "Dup"},
        {"email": "fresh@example.com", "last_name": "Fresh"}]}).get_json()
    assert [r["status"] for r in answer["results"]] == ["error", "created"]


def test_bulk_limits_are_a_422(api):
    too_many = api.post("/records/bulk", {"type": "lead", "records": [
        {"last_name": f"L{i}"} for i in range(1001)]})
    assert too_many.status_code == 422
    assert too_many.get_json()["errors"][0]["field"] == "/records"
    assert api.post("/records/bulk", {"type": "lead", "records": []}).status_code == 422


def test_an_email_created_meanwhile_is_updated_not_duplicated(app, api, admin):
    """Another transaction inserts the same new email while the bulk request runs: the
    request waits on the unique index, its savepoint is rolled back, and the item becomes an
    update of that record."""
    url = make_url(TEST_DATABASE_URL).set(drivername="postgresql")
    other = psycopg.connect(url.render_as_string(hide_password=False))
    other.execute("INSERT INTO record (tenant_id, record_type, first_name, last_name, company,"
                  " email, status, time_zone, custom, created_at, updated_at) VALUES "
                  "(%s, 'lead', 'Raced', 'First', '', 'race@example.com', 'new', 'UTC', '{}',"
                  " now(), now())", (admin.tenant.id,))
    answers = []
    request = threading.Thread(target=lambda: answers.append(api.post("/records/bulk", {
        "type": "lead", "records": [{"email": "race@example.com", "last_name": "Api",
                                       "company": "From API"}]})))
    request.start()
    time.sleep(0.5)  # the request's COPY now waits on the other transaction's row
    other.commit()
    other.close()
    request.join(timeout=30)
    result = answers[0].get_json()
    assert [r["status"] for r in result["results"]] == ["updated"]
    rows = api.get("/records?email=race@example.com").get_json()["data"]
    assert len(rows) == 1 and rows[0]["company"] == "From API"
    assert rows[0]["first_name"] == "Raced" and rows[0]["last_name"] == "Api"
