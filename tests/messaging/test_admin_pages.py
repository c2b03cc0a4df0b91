"""Settings > Messaging, the test message, the suppression list and the outbox's texts."""

from __future__ import annotations

from sqlalchemy import select

from saas.auth.models import Role, Tenant
from saas.extensions import db
from saas.messaging.config import config_for
from saas.messaging.delivery import send_sms
from saas.messaging.models import OutboxMessage, Suppression
from saas.tenancy import tenant_context
from tests.messaging.signing import SendGridSigner

BASE = "/acme/settings/messaging"


def _raw(app, tenant_id):
    with app.app_context():
        return dict(db.session.get(Tenant, tenant_id).settings.get("messaging") or {})


def test_keys_are_encrypted_and_never_shown(app, admin_client, admin):
    key = SendGridSigner().public_key
    response = admin_client.post(BASE, data={
        "sendgrid_key": "SG.very-secret", "from_address": "sales@acme.example",
        "from_name": "Acme Sales", "inbound_domain": "reply.acme.example",
        "sendgrid_webhook_key": key, "twilio_sid": "AC" + "3" * 32,
        "twilio_token": "tw-secret", "twilio_from": "+15005550006",
        f"seller-{admin.id}-from_address": "ada@acme.example",
        f"seller-{admin.id}-from_name": "Ada"})
    assert response.status_code == 302
    raw = _raw(app, admin.tenant.id)
    assert "SG.very-secret" not in str(raw) and "tw-secret" not in str(raw)
    with app.app_context():
        config = config_for(admin.tenant.id)
    assert config.sendgrid_key == "SG.very-secret" and config.twilio_token == "tw-secret"
    assert config.email_provider == "sendgrid" and config.sms_provider == "twilio"
    assert config.sender_for(admin.id) == ("ada@acme.example", "Ada")
    assert config.sender_for(None) == ("sales@acme.example", "Acme Sales")
    page = admin_client.get(BASE).get_data(as_text=True)
    assert "SG.very-secret" not in page and "tw-secret" not in page
    assert "A key is stored" in page
    # A blank key field keeps the key; the remove box removes it.
    admin_client.post(BASE, data={"from_address": "sales@acme.example"})
    with app.app_context():
        assert config_for(admin.tenant.id).sendgrid_key == "SG.very-secret"
    admin_client.post(BASE, data={"clear_sendgrid_key": "1"})
    with app.app_context():
        assert config_for(admin.tenant.id).email_provider == "outbox"


def test_invalid_settings_show_errors_and_save_nothing(app, admin_client, admin):
    response = admin_client.post(BASE, data={"from_address": "not an address",
                                             "twilio_from": "0612", "sendgrid_key": "SG.x",
                                             "sendgrid_webhook_key": "garbage!"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter an email address" in page and "international format" in page
    assert "verification key" in page
    assert _raw(app, admin.tenant.id) == {}


def test_send_test_message_goes_to_the_outbox_without_a_provider(app, admin_client, admin):
    response = admin_client.post(f"{BASE}/test", follow_redirects=True)
    assert "handed to the outbox" in response.get_data(as_text=True)
    with app.app_context(), tenant_context(admin.tenant.id):
        message = db.session.execute(select(OutboxMessage)).scalar_one()
    assert message.to_address == admin.email and message.purpose == "test"


def test_send_test_message_through_sendgrid(app, admin_client, admin, fake):
    admin_client.post(BASE, data={"sendgrid_key": "SG.live", "from_address": "s@acme.example"})
    response = admin_client.post(f"{BASE}/test", follow_redirects=True)
    assert "handed to Sendgrid" in response.get_data(as_text=True)
    [sent] = fake.emails()
    assert sent["to"] == [admin.email] and sent["auth"] == "Bearer SG.live"
    fake.fail_next("500")
    response = admin_client.post(f"{BASE}/test", follow_redirects=True)
    assert "was not sent (unknown)" in response.get_data(as_text=True)


def test_suppression_list_add_search_remove(app, admin_client, admin):
    assert "The list is empty" in admin_client.get(f"{BASE}/suppressions").get_data(as_text=True)
    assert admin_client.post(f"{BASE}/suppressions",
                             data={"address": "Gone@Example.com"}).status_code == 302
    again = admin_client.post(f"{BASE}/suppressions", data={"address": "gone@example.com"})
    assert again.status_code == 422 and "already on the list" in again.get_data(as_text=True)
    bad = admin_client.post(f"{BASE}/suppressions", data={"address": "nope"})
    assert bad.status_code == 422
    admin_client.post(f"{BASE}/suppressions", data={"address": "+33 6 12 34 56 78"})
    page = admin_client.get(f"{BASE}/suppressions?q=gone").get_data(as_text=True)
    assert "<td>gone@example.com</td>" in page and "<td>+33612345678</td>" not in page
    with app.app_context(), tenant_context(admin.tenant.id):
        entry = db.session.execute(select(Suppression).where(
            Suppression.address == "gone@example.com")).scalar_one()
    confirm = admin_client.get(f"{BASE}/suppressions/{entry.id}/remove")
    assert "Remove gone@example.com?" in confirm.get_data(as_text=True)
    assert admin_client.post(f"{BASE}/suppressions/{entry.id}/remove").status_code == 302
    with app.app_context(), tenant_context(admin.tenant.id):
        assert [s.address for s in db.session.execute(select(Suppression)).scalars()] == [
            "+33612345678"]


def test_only_administrators(app, client, admin, make_user, login):
    seller = make_user(admin.tenant, roles=[Role.SELLER])
    login(client, seller)
    assert client.get(BASE).status_code == 403
    assert client.get(f"{BASE}/suppressions").status_code == 403
    assert client.post(f"{BASE}/suppressions", data={"address": "x@y.example"}).status_code \
        == 403


def test_outbox_lists_texts(app, admin_client, admin):
    with app.app_context():
        send_sms(admin.tenant.id, to="+33612345678", body="Hello from the outbox")
        db.session.commit()
    page = admin_client.get("/acme/settings/outbox?channel=sms").get_data(as_text=True)
    assert "Text: Hello from the outbox" in page
    assert "Text: Hello" not in admin_client.get(
        "/acme/settings/outbox?channel=email").get_data(as_text=True)


def test_without_an_encryption_key_outside_development_no_key_is_stored(
        app, admin_client, admin, monkeypatch):
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    monkeypatch.setitem(app.config, "MESSAGING_ENCRYPTION_KEY", "")
    response = admin_client.post(BASE, data={"sendgrid_key": "SG.secret"})
    assert response.status_code == 422
    assert "MESSAGING_ENCRYPTION_KEY is not set" in response.get_data(as_text=True)
    assert _raw(app, admin.tenant.id) == {}


def test_keys_are_encrypted_with_the_configured_key(app, admin_client, admin, monkeypatch):
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "MESSAGING_ENCRYPTION_KEY", key)
    admin_client.post(BASE, data={"sendgrid_key": "SG.secret"})
    stored = _raw(app, admin.tenant.id)["sendgrid_key"]
    assert Fernet(key).decrypt(stored.encode()) == b"SG.secret"
    monkeypatch.setitem(app.config, "MESSAGING_ENCRYPTION_KEY", Fernet.generate_key().decode())
    with app.app_context():  # another key (rotated without re-entering): sending stops, it
        config = config_for(admin.tenant.id)  # does not fall back to the outbox (issue 22)
        assert (config.email_provider, config.unreadable) == ("sendgrid", ("sendgrid_key",))
