"""Records over the API: create, read, list, update, upsert, delete; problems for bad input."""

from __future__ import annotations

from datetime import timedelta

from saas.auth.models import Role
from saas.timeutil import utcnow

PROBLEM = "application/problem+json"


def test_create_get_update_delete_a_lead(api):
    created = api.post("/records", {"type": "lead", "first_name": "Ana", "last_name": "Silva",
                                    "email": "Ana.Silva@Example.com", "company": "Contoso",
                                    "phone": "+33 1 23 45 67 89", "country": "France"})
    assert created.status_code == 201, created.get_json()
    lead = created.get_json()
    assert lead["email"] == "ana.silva@example.com"
    assert lead["phone"] == "+33123456789" and lead["country"] == "FR"
    assert api.get(f"/records/{lead['id']}").get_json()["company"] == "Contoso"

    changed = api.patch(f"/records/{lead['id']}", {"company": "Fabrikam", "status": "contacted"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["company"] == "Fabrikam"
    assert changed.get_json()["first_name"] == "Ana"  # untouched fields stay

    assert api.delete(f"/records/{lead['id']}").status_code == 204
    gone = api.get(f"/records/{lead['id']}")
    assert gone.status_code == 404 and gone.mimetype == PROBLEM


def test_bad_fields_are_a_422_naming_each_field_and_change_nothing(api):
    response = api.post("/records", {"type": "lead", "last_name": "X", "email": "not-an-email",
                                     "phone": "12", "wat": 1})
    assert response.status_code == 422 and response.mimetype == PROBLEM
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert "/wat" in fields or "/" in fields
    response = api.post("/records", {"type": "lead", "last_name": "X", "email": "not-an-email",
                                     "phone": "12"})
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert fields == {"/email", "/phone"}
    assert api.get("/records").get_json()["data"] == []


def test_control_characters_huge_numbers_and_bad_json_are_refused(api):
    nul = api.post("/records", {"type": "lead", "last_name": "a\x00b"})
    assert nul.status_code == 422
    assert nul.get_json()["errors"][0]["field"] == "/last_name"
    assert api.get("/records/99999999999999999999").status_code == 404
    assert api.get("/records?limit=100000").status_code == 400
    assert api.get("/records?after=forged").status_code == 400
    raw = api.client.post(f"/api/v1/{api.slug}/records", data="{nope",
                          content_type="application/json", headers=api._headers())
    assert raw.status_code == 400 and raw.mimetype == PROBLEM
    text = api.client.post(f"/api/v1/{api.slug}/records", data="a=b",
                           headers=api._headers())
    assert text.status_code == 415


def test_list_filters_and_pages_with_a_cursor(api, admin, add_records):
    add_records(admin.tenant, 7, status=lambda i: "qualified" if i % 2 else "new")
    first = api.get("/records?limit=3&sort=oldest").get_json()
    assert [r["last_name"] for r in first["data"]] == ["Last0000", "Last0001", "Last0002"]
    second = api.get(f"/records?limit=3&sort=oldest&after={first['next_cursor']}").get_json()
    assert [r["last_name"] for r in second["data"]] == ["Last0003", "Last0004", "Last0005"]
    qualified = api.get("/records?status=qualified&limit=50").get_json()
    assert len(qualified["data"]) == 3 and qualified["next_cursor"] is None
    one = api.get("/records?email=PERSON3-acme@example.com").get_json()["data"]
    assert [r["last_name"] for r in one] == ["Last0003"]


def test_upsert_by_email_creates_then_updates(api):
    first = api.post("/records/upsert", {"type": "lead", "email": "bo@example.com",
                                         "last_name": "Bo"})
    assert first.status_code == 201
    again = api.post("/records/upsert", {"type": "lead", "email": "BO@example.com",
                                         "company": "Initech"})
    assert again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["last_name"] == "Bo" and again.get_json()["company"] == "Initech"


def test_keys_refused_revoked_expired_and_of_another_tenant(client, admin, tenant_b, make_key,
                                                            app):
    from saas.api.keys import revoke_key
    from saas.api.models import ApiKey
    from saas.extensions import db
    from saas.tenancy import tenant_context

    url = f"/api/v1/{admin.tenant.slug}/records"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer sq_nothing"}).status_code == 401
    other = make_key(tenant_b)
    refused = client.get(url, headers={"Authorization": f"Bearer {other}"})
    assert refused.status_code == 401 and refused.mimetype == PROBLEM
    assert client.get(f"/api/v1/{tenant_b.tenant.slug}/records",
                      headers={"Authorization": f"Bearer {other}"}).status_code == 200
    old = make_key(admin, expires_at=utcnow() + timedelta(seconds=1))
    with app.app_context(), tenant_context(admin.tenant.id):
        key = db.session.execute(db.select(ApiKey).where(ApiKey.name == "Test key")).scalars()
        for k in key:
            k.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.get(url, headers={"Authorization": f"Bearer {old}"}).status_code == 401
    live = make_key(admin, name="Live")
    assert client.get(url, headers={"Authorization": f"Bearer {live}"}).status_code == 200
    with app.app_context(), tenant_context(admin.tenant.id):
        key = db.session.execute(db.select(ApiKey).where(ApiKey.name == "Live")).scalar_one()
        assert revoke_key(key) and not revoke_key(key)
    revoked = client.get(url, headers={"Authorization": f"Bearer {live}"})
    assert revoked.status_code == 401 and "revoked" in revoked.get_json()["detail"]


def test_roles_read_only_and_seller_keys(api_for, admin, make_user):
    reader = api_for(admin, "read_only")
    assert reader.get("/records").status_code == 200
    refused = reader.post("/records", {"type": "lead", "last_name": "X"})
    assert refused.status_code == 403 and refused.mimetype == PROBLEM
    seller = make_user(admin.tenant, roles=[Role.SELLER], name="Sam Seller")
    as_seller = api_for(admin, "seller", seller)
    assert as_seller.get("/records").status_code == 200
    assert as_seller.post("/records", {"type": "lead", "last_name": "X"}).status_code == 403


def test_idempotent_retry_creates_once(api):
    body = {"type": "lead", "last_name": "Once", "email": "once@example.com"}
    first = api.post("/records", body, headers={"Idempotency-Key": "abc-1"})
    again = api.post("/records", body, headers={"Idempotency-Key": "abc-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert len(api.get("/records").get_json()["data"]) == 1
    other = api.post("/records", {**body, "last_name": "Twice"},
                     headers={"Idempotency-Key": "abc-1"})
    assert other.status_code == 422
    refused = api.post("/records", {"type": "lead", "last_name": "X", "email": "bad"},
                       headers={"Idempotency-Key": "abc-2"})
    assert refused.status_code == 422  # a refused request leaves no key: a fixed retry runs
    fixed = api.post("/records", {"type": "lead", "last_name": "X", "email": "x@example.com"},
                     headers={"Idempotency-Key": "abc-2"})
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed.headers


def test_rate_limit_headers_and_429(app, api):
    response = api.get("/records")
    assert int(response.headers["RateLimit-Limit"]) == 600
    assert int(response.headers["RateLimit-Remaining"]) == 599
    app.config["API_RATE_LIMIT"] = "2 per minute"
    try:
        api.get("/records")
        api.get("/records")
        limited = api.get("/records")
        assert limited.status_code == 429 and limited.mimetype == PROBLEM
        assert int(limited.headers["Retry-After"]) >= 1
    finally:
        app.config["API_RATE_LIMIT"] = "600 per minute"


def test_unknown_api_address_is_a_problem(api):
    response = api.get("/nothing-here")
    assert response.status_code == 404 and response.mimetype == PROBLEM


def test_openapi_document_lists_the_operations(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    assert "/records/{record_id}" in doc["paths"]
    assert client.get("/api/v1/docs").status_code == 200


def test_idempotency_keys_expire_after_a_day(app, api):
    from sqlalchemy import update

    from saas.api.idempotency import TABLE, purge_expired
    from saas.extensions import db

    body = {"type": "lead", "last_name": "Day", "email": "day@example.com"}
    assert api.post("/records", body, headers={"Idempotency-Key": "k"}).status_code == 201
    with app.app_context():
        db.session.execute(update(TABLE).values(created_at=utcnow() - timedelta(hours=25))
                           .execution_options(all_tenants=True))
        db.session.commit()
    again = api.post("/records", body, headers={"Idempotency-Key": "k"})
    assert again.status_code == 422  # an expired key runs again: this email exists now
    with app.app_context():
        db.session.execute(update(TABLE).values(created_at=utcnow() - timedelta(hours=25))
                           .execution_options(all_tenants=True))
        db.session.commit()
        assert purge_expired() == 1 and purge_expired() == 0  # once an hour
        assert db.session.execute(db.select(TABLE.c.id).execution_options(
            all_tenants=True)).first() is None
