"""Webhooks with valid, forged, unsigned, stale and duplicated input."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from saas.engine.models import Enrollment, StepRun
from saas.extensions import db
from saas.messaging import tracking
from saas.messaging.models import MessageEvent, Suppression
from saas.tenancy import tenant_context
from tests.messaging import builders
from tests.messaging.conftest import configure
from tests.messaging.signing import SendGridSigner, event_body, twilio_signature

PUBLIC = "http://localhost:5000"
TWILIO_TOKEN = "twilio-secret"


@pytest.fixture
def signer():
    return SendGridSigner()


@pytest.fixture
def world(app, make_tenant, signer):
    """Tenant `mailco` with an event-webhook key and Twilio; one lead at an automated email that
    was sent."""
    tenant = make_tenant("mailco")
    configure(app, tenant.id, sendgrid_webhook_key=signer.public_key,
              twilio_sid="AC" + "2" * 32, twilio_token=TWILIO_TOKEN, twilio_from="+15005550006",
              inbound_domain="reply.mailco.example")
    with app.app_context(), tenant_context(tenant.id):
        template = builders.email_template()
        seq = builders.sequence([
            {"type": "auto_email", "config": {"template_id": template.id}},
            {"type": "task", "name": "Call them"}])
        [run] = builders.connect([builders.lead(phone="+33611111111")], seq)
        run.status, run.provider, run.provider_message_id = "sent", "sendgrid", "msg1"
        db.session.commit()
        run_id, enrollment_id = run.id, run.enrollment_id
    return type("World", (), {"tenant": tenant, "run_id": run_id,
                              "enrollment_id": enrollment_id})


def _events(app, tenant_id):
    with app.app_context(), tenant_context(tenant_id):
        return db.session.execute(select(MessageEvent).order_by(MessageEvent.id)).scalars().all()


def _state(app, world):
    with app.app_context(), tenant_context(world.tenant.id):
        run = db.session.execute(select(StepRun).where(StepRun.id == world.run_id)).scalar_one()
        enrollment = db.session.execute(select(Enrollment).where(
            Enrollment.id == world.enrollment_id)).scalar_one()
        suppressed = db.session.execute(select(func.count(Suppression.id))).scalar()
        return run.status, enrollment.status, suppressed


def _sg_event(world, kind="delivered", event_id="e1", **extra):
    event = {"email": "lead@example.com", "timestamp": int(time.time()), "event": kind,
             "sg_event_id": event_id, "sg_message_id": "msg1.filter0001",
             "step_run_id": str(world.run_id), "tenant_id": str(world.tenant.id)}
    event.update(extra)
    return event


def _post_events(client, signer, events, slug="mailco", **header_kw):
    body = event_body(events)
    return client.post(f"/{slug}/webhooks/sendgrid/events", data=body,
                       headers=signer.headers(body, **header_kw))


# -- SendGrid events ------------------------------------------------------------------------------

def test_sendgrid_events_are_recorded_once(app, client, world, signer):
    events = [_sg_event(world, "processed", "e0"), _sg_event(world, "delivered", "e1"),
              _sg_event(world, "open", "e2"),
              _sg_event(world, "click", "e3", url="https://example.com/offer")]
    first = _post_events(client, signer, events)
    assert first.status_code == 200 and first.json == {"recorded": 4}
    again = _post_events(client, signer, events)  # SendGrid retries
    assert again.status_code == 200 and again.json == {"recorded": 0}
    recorded = _events(app, world.tenant.id)
    assert [(e.kind, e.step_run_id) for e in recorded] == [
        ("processed", world.run_id), ("delivered", world.run_id), ("open", world.run_id),
        ("click", world.run_id)]
    assert recorded[3].url == "https://example.com/offer"
    assert recorded[0].data["provider_message_id"] == "msg1"


@pytest.mark.parametrize("tamper", ["forged", "unsigned", "stale", "body", "no-key-tenant"])
def test_bad_sendgrid_requests_change_nothing(app, client, world, signer, tamper, make_tenant):
    events = [_sg_event(world, "bounce", "b1")]
    body = event_body(events)
    headers = signer.headers(body)
    slug = "mailco"
    if tamper == "forged":
        headers = SendGridSigner().headers(body)  # someone else's key
    elif tamper == "unsigned":
        headers = {"Content-Type": "application/json"}
    elif tamper == "stale":
        headers = signer.headers(body, timestamp=int(time.time()) - 3600)
    elif tamper == "body":
        body = event_body([_sg_event(world, "bounce", "b2")])
    elif tamper == "no-key-tenant":
        slug = make_tenant("plain").slug
    response = client.post(f"/{slug}/webhooks/sendgrid/events", data=body, headers=headers)
    assert 400 <= response.status_code < 500
    assert _events(app, world.tenant.id) == []
    assert _state(app, world) == ("sent", "active", 0)


def test_bounce_suppresses_and_exits(app, client, world, signer):
    assert _post_events(client, signer, [_sg_event(world, "bounce", "b1",
                                                   reason="550 no such user")]).status_code == 200
    assert _state(app, world) == ("sent", "exited", 1)
    with app.app_context(), tenant_context(world.tenant.id):
        row = db.session.execute(select(Suppression)).scalar_one()
    assert (row.address, row.reason) == ("lead@example.com", "bounce")


def test_blocked_bounce_does_not_suppress(app, client, world, signer):
    _post_events(client, signer, [_sg_event(world, "bounce", "b1", type="blocked")])
    assert _state(app, world) == ("sent", "active", 0)


def test_unknown_send_is_reconciled_by_an_event(app, client, world, signer):
    with app.app_context(), tenant_context(world.tenant.id):
        run = db.session.execute(select(StepRun).where(StepRun.id == world.run_id)).scalar_one()
        run.status, run.provider_message_id, run.error = "unknown", None, "timeout"
        db.session.commit()
    _post_events(client, signer, [_sg_event(world, "processed", "p1")])
    with app.app_context(), tenant_context(world.tenant.id):
        run = db.session.execute(select(StepRun).where(StepRun.id == world.run_id)).scalar_one()
        assert run.status == "sent" and run.provider_message_id == "msg1"
        following = db.session.execute(select(StepRun).where(
            StepRun.enrollment_id == world.enrollment_id, StepRun.id != run.id)).scalar_one()
        assert following.step_type == "task" and following.status == "open"


def test_another_tenants_step_run_is_not_touched(app, client, world, signer, make_tenant):
    """An event naming another tenant's step run (in its custom args) reaches nothing there."""
    other = make_tenant("othercorp")
    with app.app_context(), tenant_context(other.id):
        template = builders.email_template()
        seq = builders.sequence([{"type": "auto_email", "config": {"template_id": template.id}}])
        [run] = builders.connect([builders.lead("victim@example.com")], seq)
        run.status = "unknown"
        db.session.commit()
        victim = run.id
    events = [_sg_event(world, "processed", "x1", step_run_id=str(victim),
                        tenant_id=str(world.tenant.id), email="victim@example.com"),
              _sg_event(world, "spamreport", "x2", step_run_id=str(victim),
                        tenant_id=str(other.id), email="victim@example.com")]
    assert _post_events(client, signer, events).status_code == 200
    with app.app_context(), tenant_context(other.id):
        run = db.session.execute(select(StepRun).where(StepRun.id == victim)).scalar_one()
        assert run.status == "unknown"
        assert db.session.execute(select(func.count(MessageEvent.id))).scalar() == 0
        assert db.session.execute(select(func.count(Suppression.id))).scalar() == 0
    assert {e.step_run_id for e in _events(app, world.tenant.id)} == {None}


# -- Inbound Parse (replies) -----------------------------------------------------------------------

def _reply_form(to: str, message_id: str = "<abc@mail.example>") -> dict:
    return {"to": to, "from": "Lea Lead <lead@example.com>", "subject": "Re: Hi",
            "text": "Sounds good", "headers": f"Message-ID: {message_id}\nSubject: Re: Hi",
            "envelope": json.dumps({"to": [to], "from": "lead@example.com"})}


def test_reply_is_matched_by_its_signed_token_once(app, client, world):
    with app.test_request_context():
        address = tracking.reply_address(world.tenant.id, world.run_id, "reply.mailco.example")
    response = client.post("/mailco/webhooks/sendgrid/inbound", data=_reply_form(address))
    assert response.status_code == 200
    again = client.post("/mailco/webhooks/sendgrid/inbound", data=_reply_form(address))
    assert again.status_code == 200
    assert [(e.kind, e.step_run_id) for e in _events(app, world.tenant.id)] == [
        ("reply", world.run_id)]
    assert _state(app, world) == ("sent", "exited", 0)  # exit on reply (the default)


@pytest.mark.parametrize("to", ["r-1-1-0123456789abcdef0123@reply.mailco.example",
                                "sales@reply.mailco.example", "other-tenant"])
def test_reply_without_a_valid_token_is_refused(app, client, world, make_tenant, to):
    if to == "other-tenant":
        other = make_tenant("othercorp")
        with app.test_request_context():
            to = tracking.reply_address(other.id, world.run_id, "reply.mailco.example")
    response = client.post("/mailco/webhooks/sendgrid/inbound", data=_reply_form(to))
    assert response.status_code == 404
    assert _events(app, world.tenant.id) == []
    assert _state(app, world) == ("sent", "active", 0)


# -- Twilio ---------------------------------------------------------------------------------------

def _twilio_post(client, path, form, token=TWILIO_TOKEN, signed=True):
    headers = {"X-Twilio-Signature": twilio_signature(token, PUBLIC + path, form)} \
        if signed else {}
    return client.post(path, data=form, headers=headers)


def test_twilio_status_applied_by_rank(app, client, world):
    path = f"/mailco/webhooks/twilio/status?sr={world.run_id}"
    for status in ("delivered", "sent", "delivered"):  # out of order, then a retry
        form = {"MessageSid": "SM1", "MessageStatus": status, "To": "+33611111111"}
        assert _twilio_post(client, path, form).status_code == 204
    recorded = _events(app, world.tenant.id)
    assert [(e.kind, e.data["applied"]) for e in recorded] == [("delivered", True),
                                                               ("sent", False)]


@pytest.mark.parametrize("how", ["forged", "unsigned", "wrong-url"])
def test_bad_twilio_requests_change_nothing(app, client, world, how):
    form = {"From": "+33611111111", "To": "+15005550006", "Body": "STOP", "MessageSid": "SMx"}
    path = "/mailco/webhooks/twilio/inbound"
    if how == "forged":
        response = _twilio_post(client, path, form, token="not-the-token")
    elif how == "unsigned":
        response = _twilio_post(client, path, form, signed=False)
    else:
        headers = {"X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, PUBLIC + "/x", form)}
        response = client.post(path, data=form, headers=headers)
    assert response.status_code == 403
    assert _events(app, world.tenant.id) == []
    assert _state(app, world) == ("sent", "active", 0)


def test_stop_and_start(app, client, world):
    path = "/mailco/webhooks/twilio/inbound"
    stop = {"From": "+33611111111", "To": "+15005550006", "Body": "Stop", "MessageSid": "SM1"}
    assert _twilio_post(client, path, stop).status_code == 200
    assert _twilio_post(client, path, stop).status_code == 200  # retried: recorded once
    assert _state(app, world) == ("sent", "exited", 1)
    start = {"From": "+33611111111", "To": "+15005550006", "Body": "START", "MessageSid": "SM2"}
    assert _twilio_post(client, path, start).status_code == 200
    assert _state(app, world)[2] == 0
    assert [e.kind for e in _events(app, world.tenant.id)] == ["stop", "start"]


def test_twilio_status_naming_another_tenants_run_reaches_nothing(app, client, world,
                                                                  make_tenant):
    other = make_tenant("othercorp")
    configure(app, other.id, twilio_sid="AC" + "4" * 32, twilio_token="other-token",
              twilio_from="+15005550007")
    with app.app_context(), tenant_context(world.tenant.id):
        run = db.session.execute(select(StepRun).where(StepRun.id == world.run_id)).scalar_one()
        run.status, run.provider_message_id = "unknown", "SMvictim"
        db.session.commit()
    path = f"/othercorp/webhooks/twilio/status?sr={world.run_id}"
    form = {"MessageSid": "SMvictim", "MessageStatus": "delivered", "To": "+33611111111"}
    response = _twilio_post(client, path, form, token="other-token")
    assert response.status_code == 204
    assert _state(app, world) == ("unknown", "active", 0)
    assert _events(app, world.tenant.id) == []
    assert [e.step_run_id for e in _events(app, other.id)] == [None]
