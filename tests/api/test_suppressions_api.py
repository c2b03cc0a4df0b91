"""The suppression list over the API: list, add (an email or a phone), remove."""

from __future__ import annotations

PROBLEM = "application/problem+json"


def test_add_list_and_remove_addresses(api, api_for, admin):
    email = api.post("/suppressions", {"address": " Gone@Example.com "})
    assert email.status_code == 201, email.get_json()
    assert email.get_json()["address"] == "gone@example.com"
    assert email.get_json()["channel"] == "email" and email.get_json()["reason"] == "manual"
    phone = api.post("/suppressions", {"address": "+33 6 12 34 56 78"})
    assert phone.status_code == 201 and phone.get_json()["address"] == "+33612345678"
    assert phone.get_json()["channel"] == "sms"
    listed = api_for(admin, "read_only").get("/suppressions").get_json()
    assert [s["address"] for s in listed["data"]] == ["+33612345678", "gone@example.com"]
    one = api.get("/suppressions?limit=1").get_json()
    assert [s["address"] for s in api.get(f"/suppressions?limit=1&after={one['next_cursor']}")
            .get_json()["data"]] == ["gone@example.com"]
    assert [s["address"] for s in api.get("/suppressions?q=GONE").get_json()["data"]] == [
        "gone@example.com"]
    assert api.delete(f"/suppressions/{email.get_json()['id']}").status_code == 204
    assert api.delete(f"/suppressions/{email.get_json()['id']}").status_code == 404
    assert [s["address"] for s in api.get("/suppressions").get_json()["data"]] == [
        "+33612345678"]


def test_bad_or_repeated_addresses_are_a_422_and_roles_hold(api, api_for, admin, make_user):
    for bad in ("not an address", "12", "a@b"):
        refused = api.post("/suppressions", {"address": bad})
        assert refused.status_code == 422, bad
        assert refused.get_json()["errors"][0]["field"] == "/address"
    assert api.post("/suppressions", {}).get_json()["errors"][0]["field"] == "/address"
    api.post("/suppressions", {"address": "twice@example.com"})
    twice = api.post("/suppressions", {"address": "TWICE@example.com"})
    assert twice.status_code == 422 and "already" in twice.get_json()["errors"][0]["message"]
    reader = api_for(admin, "read_only")
    assert reader.post("/suppressions", {"address": "x@example.com"}).status_code == 403
    from saas.auth.models import Role

    seller = api_for(admin, "seller", make_user(admin.tenant, roles=[Role.SELLER]))
    assert seller.get("/suppressions").status_code == 403
    assert seller.post("/suppressions", {"address": "x@example.com"}).status_code == 403
    entry = api.get("/suppressions").get_json()["data"][0]["id"]
    assert reader.delete(f"/suppressions/{entry}").status_code == 403
