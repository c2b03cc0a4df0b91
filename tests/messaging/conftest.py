"""Messaging fixtures: the fake provider server and tenants configured to use it."""

from __future__ import annotations

import pytest

from saas.auth.models import Tenant
from saas.extensions import db
from saas.messaging import crypto
from saas.tenancy import tenant_context
from tests.messaging import builders
from tests.messaging.fake_providers import FakeProviders


@pytest.fixture(scope="session")
def fake_server():
    server = FakeProviders().start()
    yield server
    server.stop()


@pytest.fixture
def fake(app, fake_server):
    """The fake providers, emptied; the app's provider base URLs point at it."""
    fake_server.reset()
    fake_server.slow_seconds = 1.0
    saved = {k: app.config[k] for k in ("SENDGRID_BASE_URL", "TWILIO_BASE_URL",
                                         "PROVIDER_TIMEOUT_SECONDS")}
    app.config.update(SENDGRID_BASE_URL=fake_server.url, TWILIO_BASE_URL=fake_server.url,
                      PROVIDER_TIMEOUT_SECONDS=0.5)
    yield fake_server
    app.config.update(saved)
    fake_server.reset()


def configure(app, tenant_id: int, **values) -> None:
    """Write provider settings for a tenant (keys given in clear are encrypted here)."""
    with app.app_context():
        tenant = db.session.get(Tenant, tenant_id)
        settings = dict(tenant.settings or {})
        messaging = dict(settings.get("messaging") or {})
        for key in ("sendgrid_key", "twilio_token"):
            if values.get(key):
                values[key] = crypto.encrypt(values[key])
        messaging.update(values)
        settings["messaging"] = messaging
        tenant.settings = settings
        db.session.commit()


@pytest.fixture
def sendgrid_tenant(app, make_tenant, fake):
    tenant = make_tenant("mailco", name="Mail Co")
    configure(app, tenant.id, sendgrid_key="SG.test-key", from_address="hello@mailco.example",
              from_name="Mail Co", inbound_domain="reply.mailco.example")
    return tenant


@pytest.fixture
def twilio_tenant(app, make_tenant, fake):
    tenant = make_tenant("textco", name="Text Co")
    configure(app, tenant.id, twilio_sid="AC" + "1" * 32, twilio_token="twilio-secret",
              twilio_from="+15005550006")
    return tenant


@pytest.fixture
def one_send(app, sendgrid_tenant):
    """A lead at an automated email followed by a task: (enrollment id, email run id)."""

    def connect(email="ann@example.com", specs=None):
        with app.app_context(), tenant_context(sendgrid_tenant.id):
            template = builders.email_template()
            seq = builders.sequence(specs or [
                {"type": "auto_email", "name": "Hello", "config": {"template_id": template.id}},
                {"type": "task", "name": "Call them"}])
            [run] = builders.connect([builders.lead(email)], seq)
            db.session.commit()
            return run.enrollment_id, run.id
    return connect
