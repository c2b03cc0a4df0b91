"""SendGrid requests over kept-alive connections (saas/messaging/connections.py), against the
fake provider server: one connection for many emails, a connection the provider closed replaced
before it is used, and a proxy in the environment honoured (the library's own way)."""

from __future__ import annotations

import time

import pytest

from saas.messaging import connections
from saas.messaging.delivery import send_email
from tests.messaging.fake_providers import FakeProviders


def _send(app, tenant_id: int, step_run_id: int):
    with app.app_context():
        return send_email(tenant_id, to=f"lead{step_run_id}@example.com", subject="Hi",
                          html="<p>Hello</p>", text="Hello", step_run_id=step_run_id)


@pytest.fixture
def fresh_connections():
    connections.close_all()
    yield
    connections.close_all()


def test_emails_share_one_kept_alive_connection(app, sendgrid_tenant, fake, fresh_connections):
    results = [_send(app, sendgrid_tenant.id, n) for n in range(1, 6)]
    assert [r.status for r in results] == ["sent"] * 5
    assert fake.connection_count == 1
    assert dict(fake.per_step_run) == {str(n): 1 for n in range(1, 6)}


def test_a_connection_the_provider_closed_is_replaced_not_failed(app, sendgrid_tenant, fake,
                                                                 fresh_connections):
    assert _send(app, sendgrid_tenant.id, 1).status == "sent"
    fake.close_connections()
    time.sleep(0.1)  # the end-of-file reaches the client's socket
    result = _send(app, sendgrid_tenant.id, 2)
    assert result.status == "sent", result.error
    assert fake.connection_count == 2
    assert dict(fake.per_step_run) == {"1": 1, "2": 1}


def test_after_a_timeout_the_next_email_gets_a_new_connection(app, sendgrid_tenant, fake,
                                                              fresh_connections):
    fake.fail_next("timeout")
    assert _send(app, sendgrid_tenant.id, 1).status == "unknown"
    assert _send(app, sendgrid_tenant.id, 2).status == "sent"
    assert fake.connection_count == 2


def test_a_proxy_in_the_environment_is_used(app, sendgrid_tenant, fake, fresh_connections,
                                            monkeypatch):
    monkeypatch.setenv("http_proxy", FakeProviders.dead_url())  # nothing listens there
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    connections._proxied.cache_clear()
    try:
        result = _send(app, sendgrid_tenant.id, 1)
    finally:
        monkeypatch.undo()
        connections._proxied.cache_clear()
    assert result.status == "retry" and "refused" in result.error  # the proxy refused
    assert fake.request_count == 0
    assert _send(app, sendgrid_tenant.id, 2).status == "sent"
