"""Settings > Webhooks through HTTP: system administrators only, fields checked next to them,
the secret shown once and rotated, edit and delete."""

from __future__ import annotations

from sqlalchemy import select

from saas.auth.models import Role
from saas.extensions import db
from saas.messaging.crypto import decrypt
from saas.outbound import delivery
from saas.outbound.models import WebhookDelivery, WebhookSubscription

FORM = {"url": "", "description": "CRM", "events": ["enrollment.completed", "email.replied"]}


def test_only_system_administrators_see_webhooks(client, login, world, make_user):
    manager = make_user(world.tenant, roles=[Role.SEQUENCE_MANAGER])
    login(client, manager)
    assert client.get("/acme/settings/webhooks").status_code in (403, 404)


def test_the_empty_page_says_what_to_do(client, login, world):
    login(client, world.admin)
    page = client.get("/acme/settings/webhooks").get_data(as_text=True)
    assert "No webhook yet" in page and "Add a webhook" in page


def test_a_bad_url_or_no_event_is_refused_next_to_the_field(app, client, login, world):
    login(client, world.admin)
    app.config["OUTBOUND_WEBHOOK_ALLOW_PRIVATE"] = False
    try:
        answer = client.post("/acme/settings/webhooks/new",
                             data={**FORM, "url": "http://127.0.0.1/x"})
    finally:
        app.config["OUTBOUND_WEBHOOK_ALLOW_PRIVATE"] = True
    assert answer.status_code == 422
    assert "public addresses only" in answer.get_data(as_text=True)
    answer = client.post("/acme/settings/webhooks/new",
                         data={"url": "https://hooks.example.com/x", "description": ""})
    assert answer.status_code == 422
    assert "Choose at least one event." in answer.get_data(as_text=True)
    answer = client.post("/acme/settings/webhooks/new",
                         data={**FORM, "url": "http://x", "events": ["record.deleted"]})
    assert answer.status_code == 422
    with world.inside():
        assert db.session.execute(select(WebhookSubscription)).first() is None


def test_create_shows_the_secret_once_then_rotate_edit_delete(client, login, world, receiver):
    login(client, world.admin)
    page = client.post("/acme/settings/webhooks/new", data={**FORM, "url": receiver.url})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    with world.inside():
        sub = db.session.execute(select(WebhookSubscription)).scalar_one()
        secret, sub_id = decrypt(sub.secret_encrypted), sub.id
        assert sub.events == ["email.replied", "enrollment.completed"]
    assert secret.startswith("whsec_") and secret in text
    assert secret not in client.get(f"/acme/settings/webhooks/{sub_id}").get_data(as_text=True)
    assert secret not in client.get("/acme/settings/webhooks").get_data(as_text=True)

    rotated = client.post(f"/acme/settings/webhooks/{sub_id}/rotate").get_data(as_text=True)
    with world.inside():
        new = decrypt(db.session.execute(select(WebhookSubscription.secret_encrypted)).scalar())
    assert new != secret and new in rotated
    client.post(f"/acme/settings/webhooks/{sub_id}/test")
    with world.inside():
        delivery.deliver_once()
    assert receiver.verified(new)[0]["type"] == "webhook.test"

    edited = client.post(f"/acme/settings/webhooks/{sub_id}",
                         data={"url": receiver.url + "/v2", "description": "Warehouse",
                               "events": ["abtest.concluded"]})
    assert edited.status_code == 302
    with world.inside():
        sub = db.session.execute(select(WebhookSubscription)).scalar_one()
        assert (sub.url, sub.description, sub.events) == (
            receiver.url + "/v2", "Warehouse", ["abtest.concluded"])
    assert client.post(f"/acme/settings/webhooks/{sub_id}/delete").status_code == 302
    with world.inside():
        assert db.session.execute(select(WebhookSubscription)).first() is None
        assert db.session.execute(select(WebhookDelivery)).first() is None


def test_deliveries_page_lists_attempts_and_replays(client, login, world, receiver):
    receiver.answers = [500]
    login(client, world.admin)
    client.post("/acme/settings/webhooks/new", data={**FORM, "url": receiver.url})
    with world.inside():
        sub_id = db.session.execute(select(WebhookSubscription.id)).scalar()
    client.post(f"/acme/settings/webhooks/{sub_id}/test")
    with world.inside():
        delivery.deliver_once()
        delivery_id = db.session.execute(select(WebhookDelivery.id)).scalar()
    page = client.get(f"/acme/settings/webhooks/{sub_id}/deliveries").get_data(as_text=True)
    assert "webhook.test" in page and "HTTP 500" in page and "receiver says no" in page
    assert client.post(f"/acme/settings/webhooks/{sub_id}/deliveries/{delivery_id}/replay"
                       ).status_code == 302
    with world.inside():
        assert len(db.session.execute(select(WebhookDelivery)).all()) == 2
    assert client.post(f"/acme/settings/webhooks/{sub_id}/deliveries/{delivery_id + 99}/replay"
                       ).status_code == 404
