"""Webhook subscriptions over the API: the same checks as Settings → Webhooks."""

from __future__ import annotations


def test_subscribe_test_list_and_unsubscribe(api, app):
    created = api.post("/webhooks", {"url": "https://localhost/hooks",
                                     "events": ["enrollment.completed", "email.replied"],
                                     "description": "CRM"})
    assert created.status_code == 201, created.get_json()
    hook = created.get_json()
    assert hook["secret"].startswith("whsec_") and hook["status"] == "active"
    listed = api.get("/webhooks").get_json()["data"]
    assert [h["url"] for h in listed] == ["https://localhost/hooks"]
    assert "secret" not in listed[0]  # shown once, at creation
    tested = api.post(f"/webhooks/{hook['id']}/test")
    assert tested.status_code == 202 and tested.get_json()["event_id"].startswith("evt_")
    assert api.delete(f"/webhooks/{hook['id']}").status_code == 204
    assert api.get("/webhooks").get_json()["data"] == []


def test_bad_subscriptions_are_refused_by_field(api, app):
    unknown = api.post("/webhooks", {"url": "https://crm.example.com", "events": ["nope"]})
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"][0]["field"] == "/events/0"
    app.config["OUTBOUND_WEBHOOK_ALLOW_PRIVATE"] = False
    try:
        private = api.post("/webhooks", {"url": "https://127.0.0.1/x", "events": ["email.sent"]})
    finally:
        app.config["OUTBOUND_WEBHOOK_ALLOW_PRIVATE"] = True
    assert private.status_code == 422
    assert private.get_json()["errors"][0]["field"] == "/url"


def test_a_read_only_key_lists_but_does_not_subscribe(api_for, admin):
    reader = api_for(admin, "read_only")
    assert reader.get("/webhooks").status_code == 200
    assert reader.post("/webhooks", {"url": "https://x.example.com",
                                     "events": ["email.sent"]}).status_code == 403
