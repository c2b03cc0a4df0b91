"""After an invitation, the flash tells the truth about its email: without a provider it waits
in the Outbox (with a link there); with SendGrid configured it is sent."""

from __future__ import annotations

import re

from sqlalchemy import select

from saas.auth.models import User
from saas.extensions import db
from saas.tenancy import tenant_context
from tests.messaging.conftest import configure

INVITE = {"name": "Sam <Seller>", "email": "sam@acme.example", "roles": ["seller"]}


def _flash(client) -> str:
    page = client.get("/acme/settings/users").get_data(as_text=True)
    return re.search(r'<p class="flash flash-\w+">(.*?)</p>', page, re.S).group(0)


def test_without_a_provider_the_invitation_waits_in_the_outbox(admin_client):
    admin_client.post("/acme/settings/users/invite", data=INVITE)
    flash = _flash(admin_client)
    assert 'class="flash flash-info"' in flash
    assert "The invitation to sam@acme.example waits in the " \
           '<a href="/acme/settings/outbox">Outbox</a>: no email provider is configured' in flash
    assert "Invitation sent" not in flash
    outbox = admin_client.get("/acme/settings/outbox").get_data(as_text=True)
    assert "sam@acme.example" in outbox


def test_a_resent_invitation_says_the_same(app, admin_client, admin):
    admin_client.post("/acme/settings/users/invite", data=INVITE)
    admin_client.get("/acme/settings/users")  # the first flash is read
    with app.app_context(), tenant_context(admin.tenant.id):
        sam = db.session.execute(select(User).where(User.email == "sam@acme.example")).scalar_one()
    admin_client.post(f"/acme/settings/users/{sam.id}/resend-invite")
    assert "waits in the <a href=\"/acme/settings/outbox\">Outbox</a>" in _flash(admin_client)


def test_with_sendgrid_configured_the_invitation_is_sent(app, admin_client, admin):
    configure(app, admin.tenant.id, sendgrid_key="SG.test-key", from_address="hi@acme.example")
    admin_client.post("/acme/settings/users/invite", data=INVITE)
    flash = _flash(admin_client)
    assert "Invitation sent to sam@acme.example." in flash and "Outbox" not in flash
