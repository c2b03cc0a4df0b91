"""Links in emails are built from PUBLIC_URL, never from the request's Host (issue 17, hole 1):
a request sent with `Host: evil.example` must not hand a reset token, an invitation or a
tracking link to that host."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from saas.auth.models import Role
from saas.config import ConfigError, load
from saas.extensions import db
from saas.messaging.models import OutboxMessage
from saas.tenancy import tenant_context
from tests.worklist import factories as f

PUBLIC = "https://sequences.example.com"
EVIL_HOST = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}


@pytest.fixture
def public_url(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", PUBLIC)
    return PUBLIC


def _outbox(app, tenant_id) -> list[OutboxMessage]:
    with app.app_context(), tenant_context(tenant_id):
        rows = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()
        db.session.expunge_all()
        return rows


def _signed_in_at_evil(app, user):
    """A client whose requests (sign-in included) all carry the forged Host, so its cookie
    goes with them."""
    client = app.test_client()
    assert client.post(f"/{user.tenant.slug}/login", headers=EVIL_HOST, data={
        "email": user.email, "password": user.password}).status_code == 302
    return client


def _links(text: str) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>]+", text or "")


def _all_public(message: OutboxMessage, content: tuple[str, ...] = ()) -> list[str]:
    """The message's links to the site; every link is to PUBLIC_URL or typed by the author."""
    found = _links(message.text_body) + _links(message.html_body or "")
    found += [v for v in (message.headers or {}).values() for v in _links(v)]
    ours = [link for link in found if link not in content]
    assert ours, "the message has no link"
    assert all(link.startswith(PUBLIC + "/") for link in ours), ours
    assert "evil.example" not in repr((message.text_body, message.html_body, message.headers))
    return ours


def test_the_reset_link_ignores_the_host_header(app, client, admin, public_url):
    response = client.post("/acme/forgot-password", data={"email": admin.email},
                           headers=EVIL_HOST)
    assert response.status_code == 302
    (message,) = _outbox(app, admin.tenant.id)
    (link,) = _all_public(message)
    assert link.startswith(f"{PUBLIC}/acme/reset-password/")
    assert client.get(link.removeprefix(PUBLIC)).status_code == 200  # and it works


def test_an_admin_sent_reset_ignores_the_host_header(app, admin, make_user, public_url):
    seller = make_user(admin.tenant, roles=[Role.SELLER])
    _signed_in_at_evil(app, admin).post(f"/acme/settings/users/{seller.id}/reset-password",
                                        headers=EVIL_HOST)
    (message,) = _outbox(app, admin.tenant.id)
    assert _all_public(message)[0].startswith(f"{PUBLIC}/acme/reset-password/")


def test_the_invitation_link_ignores_the_host_header(app, admin, public_url):
    response = _signed_in_at_evil(app, admin).post(
        "/acme/settings/users/invite", headers=EVIL_HOST,
        data={"name": "Nora New", "email": "nora@acme.example", "roles": [Role.SELLER.value]})
    assert response.status_code == 302
    (message,) = _outbox(app, admin.tenant.id)
    (link,) = _all_public(message)
    assert link.startswith(f"{PUBLIC}/acme/invitation/")
    assert app.test_client().get(link.removeprefix(PUBLIC)).status_code == 200


def test_tracking_and_unsubscribe_links_of_an_email_sent_from_a_page_ignore_the_host(
        app, make_tenant, make_user, public_url):
    tenant = make_tenant("acme")
    seller = make_user(tenant, roles=[Role.SELLER])
    with app.app_context(), tenant_context(tenant.id):
        template = f.email_template()
        seq = f.sequence([{"type": "email", "name": "Intro",
                           "config": {"template_id": template.id}}])
        enrollment = f.connect(f.lead(email="nina@globex.example"), seq, seller.id)
        run_id = f.current_run(enrollment.id).id
        db.session.commit()
    response = _signed_in_at_evil(app, seller).post(
        f"/acme/activities/{run_id}/send", headers=EVIL_HOST,
        data={"from": "record", "subject": "Hello", "body": "See https://www.example.org/x"})
    assert response.status_code == 302
    (message,) = _outbox(app, tenant.id)
    links = _all_public(message, content=("https://www.example.org/x",))
    assert any("/acme/t/u/" in link for link in links)  # unsubscribe
    assert any("/acme/t/o/" in link for link in links)  # the open pixel
    assert message.headers["List-Unsubscribe"].startswith(f"<{PUBLIC}/acme/t/u/")


def test_the_webhook_addresses_shown_to_copy_ignore_the_host(app, admin, public_url):
    page = _signed_in_at_evil(app, admin).get("/acme/settings/messaging", headers=EVIL_HOST)
    html = page.get_data(as_text=True)
    assert f"{PUBLIC}/acme/webhooks/sendgrid/events" in html
    assert "evil.example" not in html


def test_production_needs_a_public_url():
    base = {"APP_ENV": "production", "SECRET_KEY": "k" * 40, "DATABASE_URL": "postgresql://u@h/d",
            "REDIS_URL": "redis://h:6379/0"}
    with pytest.raises(ConfigError, match="PUBLIC_URL is not set"):
        load(base)
    for bad in ("sequences.example.com", "javascript:alert(1)", "https://", "https://h/?x=1"):
        with pytest.raises(ConfigError, match="PUBLIC_URL must be an http"):
            load({**base, "PUBLIC_URL": bad})
    assert load({**base, "PUBLIC_URL": "https://s.example.com/"}).public_url == \
        "https://s.example.com"
