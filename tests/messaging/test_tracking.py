"""Tracking routes: open pixel, click redirect, unsubscribe page and one-click POST; opens, clicks
and replies deciding an email condition."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from saas.engine.models import Enrollment, StepRun
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.messaging import tracking
from saas.messaging.models import MessageEvent, OutboxMessage, Suppression
from saas.tenancy import tenant_context
from tests.messaging import builders

PUBLIC = "http://localhost:5000"


def _condition(events):
    return {"type": "email_condition", "config": {
        "events": events, "match": "any", "limit_days": 2, "limit_hours": 0,
        "move_on_event": True},
        "yes": [{"type": "task", "name": "Yes: call"}],
        "no": [{"type": "task", "name": "No: another email"}]}


@pytest.fixture
def sent(app, make_tenant):
    """An outbox tenant whose lead got an automated email followed by an email condition."""

    def make(events=("opened",), inbound_domain="reply.plain.example", settings=None):
        tenant = make_tenant("plain")
        from tests.messaging.conftest import configure

        configure(app, tenant.id, inbound_domain=inbound_domain)
        with app.app_context(), tenant_context(tenant.id):
            template = builders.email_template()
            seq = builders.sequence([
                {"type": "auto_email", "config": {"template_id": template.id}},
                _condition(list(events))], settings=settings)
            [run] = builders.connect([builders.lead("lea@example.com")], seq)
            db.session.commit()
            run_id = run.id
        with app.app_context():
            run_tick(budget_seconds=30)
        with app.app_context(), tenant_context(tenant.id):
            message = db.session.execute(select(OutboxMessage)).scalar_one()
            db.session.expunge(message)
        return tenant, run_id, message
    return make


def _link(html, kind):
    found = re.search(rf'(?:href|src)="{re.escape(PUBLIC)}(/plain/t/{kind}/[^"]+)"', html)
    return found.group(1).replace("&amp;", "&")


def _next_task(app, tenant_id):
    with app.app_context(), tenant_context(tenant_id):
        return db.session.execute(select(StepRun.status, StepRun.step_type, StepRun.outcome)
                                  .order_by(StepRun.id)).all()


def _event_kinds(app, tenant_id):
    with app.app_context(), tenant_context(tenant_id):
        return [e.kind for e in db.session.execute(
            select(MessageEvent).order_by(MessageEvent.id)).scalars()]


def test_open_pixel_decides_the_condition(app, client, sent):
    tenant, run_id, message = sent(("opened",))
    assert [r[:2] for r in _next_task(app, tenant.id)] == [("sent", "auto_email"),
                                                           ("waiting", "email_condition")]
    pixel = client.get(_link(message.html_body, "o"))
    assert pixel.status_code == 200 and pixel.mimetype == "image/gif"
    assert client.get(_link(message.html_body, "o")).status_code == 200  # image proxy refetch
    assert _event_kinds(app, tenant.id) == ["open"]
    rows = _next_task(app, tenant.id)
    assert rows[1] == ("completed", "email_condition", "yes")
    assert rows[2][:2] == ("open", "task")


def test_click_redirects_to_the_signed_link_only(app, client, sent):
    tenant, run_id, message = sent(("clicked",))
    link = _link(message.html_body, "c")
    response = client.get(link)
    assert response.status_code == 302
    assert response.headers["Location"] == "https://example.com/offer?x=1"
    assert _event_kinds(app, tenant.id) == ["click"]
    assert _next_task(app, tenant.id)[1][2] == "yes"
    tampered = re.sub(r"u=[^&]+", "u=https%3A%2F%2Fevil.example%2F", link)
    bad = client.get(tampered)
    assert bad.status_code == 404 and bad.get_data(as_text=True) == "Not found"
    assert _event_kinds(app, tenant.id) == ["click"]


def test_reply_decides_the_condition(app, client, sent):
    tenant, run_id, message = sent(("replied",), settings={"exit_on_reply": False})
    reply_to = message.headers["Reply-To"]
    assert reply_to.endswith("@reply.plain.example")
    response = client.post("/plain/webhooks/sendgrid/inbound", data={
        "to": reply_to, "from": "lea@example.com", "subject": "Re", "text": "Yes please",
        "headers": "Message-ID: <r1@example.com>"})
    assert response.status_code == 200
    assert _event_kinds(app, tenant.id) == ["reply"]
    rows = _next_task(app, tenant.id)
    assert rows[1] == ("completed", "email_condition", "yes") and rows[2][:2] == ("open", "task")


def test_reply_exits_by_default(app, client, sent):
    tenant, run_id, message = sent(("opened",))
    client.post("/plain/webhooks/sendgrid/inbound", data={
        "to": message.headers["Reply-To"], "from": "lea@example.com", "subject": "Re",
        "text": "Stop", "headers": "Message-ID: <r2@example.com>"})
    with app.app_context(), tenant_context(tenant.id):
        enrollment = db.session.execute(select(Enrollment)).scalar_one()
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "replied")


@pytest.mark.parametrize("how", ["garbage", "other-purpose", "other-tenant", "truncated"])
def test_bad_tokens_are_a_plain_404(app, client, sent, make_tenant, how):
    tenant, run_id, message = sent()
    link = _link(message.html_body, "o")
    token = link.split("/o/")[1][:-4]
    if how == "garbage":
        path = "/plain/t/o/nonsense.gif"
    elif how == "other-purpose":
        with app.test_request_context():
            click = tracking.make(tracking.CLICK, tenant.id, run_id, "")
        path = f"/plain/t/o/{click}.gif"
    elif how == "other-tenant":
        make_tenant("other")
        path = f"/other/t/o/{token}.gif"
    else:
        path = f"/plain/t/o/{token[:-2]}.gif"
    response = client.get(path)
    assert response.status_code == 404 and response.get_data(as_text=True) == "Not found"
    assert _event_kinds(app, tenant.id) == []


def test_unsubscribe_page_then_confirm(app, client, sent):
    tenant, run_id, message = sent()
    link = _link(message.html_body, "u")
    page = client.get(link).get_data(as_text=True)
    assert "Stop all messages" in page and "lea@example.com" in page
    with app.app_context(), tenant_context(tenant.id):
        assert db.session.execute(select(Suppression)).first() is None  # GET changes nothing
    done = client.post(link)
    assert done.status_code == 200 and "You are unsubscribed" in done.get_data(as_text=True)
    with app.app_context(), tenant_context(tenant.id):
        entry = db.session.execute(select(Suppression)).scalar_one()
        enrollment = db.session.execute(select(Enrollment)).scalar_one()
    assert (entry.address, entry.reason) == ("lea@example.com", "unsubscribe")
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "unsubscribed")


def test_one_click_unsubscribe(app, client, sent):
    """RFC 8058: the mail client POSTs List-Unsubscribe=One-Click to the header's URL."""
    tenant, run_id, message = sent()
    url = message.headers["List-Unsubscribe"].strip("<>")
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = url[len(PUBLIC):]
    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and response.get_data(as_text=True) == "Unsubscribed"
    again = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200
    assert _event_kinds(app, tenant.id) == ["unsubscribe"]
    with app.app_context(), tenant_context(tenant.id):
        assert db.session.execute(select(Suppression.address)).scalar_one() == "lea@example.com"
    forged = path.replace("a=lea%40example.com", "a=boss%40example.com").replace(
        "a=lea@example.com", "a=boss@example.com")
    assert client.post(forged, data={"List-Unsubscribe": "One-Click"}).status_code == 404
