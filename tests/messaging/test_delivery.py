"""send_email / send_sms through the real SendGrid and Twilio clients against the fake server."""

from __future__ import annotations

import time

from sqlalchemy import select

from saas.extensions import db
from saas.messaging.delivery import send_email, send_sms
from saas.messaging.models import OutboxMessage
from saas.messaging.suppression import is_suppressed, suppress, unsuppress
from saas.tenancy import tenant_context


def _email(tenant_id, **kw):
    values = {"to": "lead@example.com", "subject": "Hi", "html": "<p>Hello</p>", "text": "Hello"}
    values.update(kw)
    return send_email(tenant_id, **values)


def test_outbox_is_the_default_with_nothing_configured(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        result = _email(tenant.id, reply_to="r@x.example", headers={"X-A": "1"}, step_run_id=5)
        db.session.commit()
        assert result.status == "sent" and result.provider == "outbox"
        with tenant_context(tenant.id):
            message = db.session.execute(select(OutboxMessage)).scalar_one()
        assert message.to_address == "lead@example.com" and message.step_run_id == 5
        assert message.headers == {"X-A": "1", "Reply-To": "r@x.example"}
        assert result.message_id == f"outbox-{message.id}"


def test_sendgrid_payload(app, sendgrid_tenant, fake):
    with app.app_context():
        result = _email(sendgrid_tenant.id, reply_to="r+tok@reply.mailco.example",
                        headers={"List-Unsubscribe": "<https://x/u>"}, step_run_id=42,
                        categories=["sequence:7"])
    assert result.status == "sent" and result.provider == "sendgrid"
    [sent] = fake.emails()
    assert result.message_id == sent["message_id"]
    body = sent["body"]
    assert sent["auth"] == "Bearer SG.test-key"
    assert sent["to"] == ["lead@example.com"]
    assert body["from"] == {"email": "hello@mailco.example", "name": "Mail Co"}
    assert body["reply_to"] == {"email": "r+tok@reply.mailco.example"}
    assert body["headers"] == {"List-Unsubscribe": "<https://x/u>"}
    assert body["custom_args"] == {"tenant_id": str(sendgrid_tenant.id), "step_run_id": "42"}
    assert sorted(body["categories"]) == ["sequence:7", "tenant:mailco"]
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]


def test_429_is_a_retry_with_the_reset_time(app, sendgrid_tenant, fake):
    fake.reset_in = 3
    fake.fail_next("429")
    with app.app_context():
        result = _email(sendgrid_tenant.id)
    assert result.status == "retry" and 0 < result.retry_after <= 5
    assert fake.emails() == []


def test_500_and_timeout_are_unknown(app, sendgrid_tenant, fake):
    fake.fail_next("500")
    fake.slow_seconds = 1.0
    with app.app_context():
        first = _email(sendgrid_tenant.id)
        fake.fail_next("timeout")
        started = time.monotonic()
        second = _email(sendgrid_tenant.id)
        took = time.monotonic() - started
    assert first.status == "unknown" and "500" in first.error
    assert second.status == "unknown" and "timeout" in second.error
    assert took < 0.95  # the client's timeout (0.5 s) cut the call short
    assert len(fake.emails()) == 1  # the slow one was accepted: never resend blindly


def test_refused_connection_is_a_retry(app, sendgrid_tenant, fake):
    app.config["SENDGRID_BASE_URL"] = fake.dead_url()
    with app.app_context():
        result = _email(sendgrid_tenant.id)
    assert result.status == "retry" and "refused" in result.error


def test_bad_address_fails_with_the_reason(app, sendgrid_tenant, fake):
    with app.app_context():
        result = _email(sendgrid_tenant.id, to="nobody@example.invalid")
    assert result.status == "failed" and "valid address" in result.error


def test_suppressed_address_is_refused(app, sendgrid_tenant, make_tenant, fake):
    other = make_tenant()
    with app.app_context():
        with tenant_context(sendgrid_tenant.id):
            assert suppress("Lead@Example.com", "email", "unsubscribe") is True
            assert suppress("lead@example.com", "email", "bounce") is False
            db.session.commit()
            assert is_suppressed("LEAD@example.com")
        with tenant_context(other.id):
            assert not is_suppressed("lead@example.com")
        result = _email(sendgrid_tenant.id)
        assert result.status == "failed" and "suppression" in result.error
        assert _email(other.id).status == "sent"  # another tenant's list is its own
        assert _email(sendgrid_tenant.id, purpose="test").status == "sent"
        with tenant_context(sendgrid_tenant.id):
            assert unsuppress("lead@example.com")
    assert len(fake.emails()) == 1


def test_twilio_sms(app, twilio_tenant, fake):
    with app.app_context():
        result = send_sms(twilio_tenant.id, to="+33612345678", body="Hello", step_run_id=3)
        bad = send_sms(twilio_tenant.id, to="0612", body="Hello")
        fake.fail_next("500")
        lost = send_sms(twilio_tenant.id, to="+33612345678", body="Hello")
    assert result.status == "sent" and result.message_id.startswith("SM")
    [sent] = fake.texts()
    assert sent["form"]["To"] == "+33612345678" and sent["form"]["From"] == "+15005550006"
    assert sent["form"]["StatusCallback"] == \
        "http://localhost:5000/textco/webhooks/twilio/status?sr=3"
    assert sent["account"] == "AC" + "1" * 32
    assert bad.status == "failed" and "21211" in bad.error
    assert lost.status == "unknown"


def test_sms_outbox_by_default(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        result = send_sms(tenant.id, to="+33612345678", body="Hi")
        db.session.commit()
        with tenant_context(tenant.id):
            message = db.session.execute(select(OutboxMessage)).scalar_one()
    assert result.provider == "outbox" and message.channel == "sms" and message.text_body == "Hi"


def test_twilio_refused_connection_and_timeout(app, twilio_tenant, fake):
    live = app.config["TWILIO_BASE_URL"]
    app.config["TWILIO_BASE_URL"] = fake.dead_url()
    with app.app_context():
        refused = send_sms(twilio_tenant.id, to="+33612345678", body="Hi")
    app.config["TWILIO_BASE_URL"] = live
    fake.fail_next("timeout")
    fake.fail_next("429")
    with app.app_context():
        slow = send_sms(twilio_tenant.id, to="+33612345678", body="Hi")
        limited = send_sms(twilio_tenant.id, to="+33612345678", body="Hi")
    assert refused.status == "retry" and "refused" in refused.error
    assert slow.status == "unknown"
    assert limited.status == "retry" and "429" in limited.error
