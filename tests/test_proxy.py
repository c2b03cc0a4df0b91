"""Behind TRUSTED_PROXIES proxies, the client's address is read from X-Forwarded-For, only as
far as those proxies wrote it (issue 17, hole 6): the per-IP sign-in limit and the audit log
see the client, not the proxy, and a client's own forged header changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas import create_app
from saas.admin.models import AuditEvent
from saas.config import ConfigError, load
from saas.extensions import db
from saas.tenancy import tenant_context
from tests.conftest import app_config

PROXY = "10.0.0.2"  # the address the app's socket sees: our proxy
LIMITS = {"LOGIN_LIMIT_PER_IP": "3 per minute", "LOGIN_LIMIT_PER_ACCOUNT": "100 per minute"}


def _client(app, hops: int):
    behind = create_app(app_config(TRUSTED_PROXIES=str(hops), **LIMITS))
    return behind.test_client()


def _fail_login(client, user, forwarded: str | None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post(f"/{user.tenant.slug}/login", headers=headers,
                       environ_base={"REMOTE_ADDR": PROXY},
                       data={"email": user.email, "password": "not-the-password"})


def test_one_trusted_proxy_limits_each_client_on_its_own(app, admin):
    client = _client(app, 1)
    for _ in range(3):
        assert _fail_login(client, admin, "203.0.113.7").status_code == 200
    assert _fail_login(client, admin, "203.0.113.7").status_code == 429
    # Another client behind the same proxy is not limited by the first one's failures.
    assert _fail_login(client, admin, "198.51.100.9").status_code == 200
    # The first client cannot escape by sending its own X-Forwarded-For: the proxy appends
    # the address it saw, and only that last entry is believed.
    assert _fail_login(client, admin, "192.0.2.1, 203.0.113.7").status_code == 429


def test_without_trusted_proxies_the_header_is_ignored(app, admin):
    client = _client(app, 0)
    for _ in range(3):
        assert _fail_login(client, admin, "203.0.113.7").status_code == 200
    # Everyone is the socket's address: a forged X-Forwarded-For does not reset the limit.
    assert _fail_login(client, admin, "198.51.100.9").status_code == 429


def test_two_hops_read_the_address_the_outer_proxy_saw(app, admin):
    client = _client(app, 2)
    for _ in range(3):
        assert _fail_login(client, admin, "192.0.2.1, 203.0.113.7, 10.0.0.1").status_code == 200
    assert _fail_login(client, admin, "6.6.6.6, 203.0.113.7, 10.0.0.1").status_code == 429
    assert _fail_login(client, admin, "203.0.113.8, 10.0.0.1").status_code == 200


@pytest.mark.parametrize(("hops", "forwarded", "expected"), [
    (0, "203.0.113.7", PROXY),
    (1, "203.0.113.7", "203.0.113.7"),
    (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),
    (2, "6.6.6.6, 203.0.113.7, 10.0.0.1", "203.0.113.7"),
])
def test_the_audit_log_records_the_client(app, admin, hops, forwarded, expected):
    client = _client(app, hops)
    signed_in = client.post("/acme/login", environ_base={"REMOTE_ADDR": PROXY},
                            headers={"X-Forwarded-For": forwarded},
                            data={"email": admin.email, "password": admin.password})
    assert signed_in.status_code == 302
    changed = client.post("/acme/account/password", environ_base={"REMOTE_ADDR": PROXY},
                          headers={"X-Forwarded-For": forwarded},
                          data={"current_password": admin.password,
                                "password": "new-lemon-tree-55", "confirm": "new-lemon-tree-55"})
    assert changed.status_code == 302
    with app.app_context(), tenant_context(admin.tenant.id):
        event = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "user.password_changed")).scalar_one()
        assert event.ip == expected


def test_trusted_proxies_is_parsed_strictly():
    assert load({"APP_ENV": "test"}).trusted_proxies == 0
    assert load({"APP_ENV": "test", "TRUSTED_PROXIES": "2"}).trusted_proxies == 2
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES must be a whole number"):
        load({"APP_ENV": "test", "TRUSTED_PROXIES": "yes"})
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES must be the number of proxies"):
        load({"APP_ENV": "test", "TRUSTED_PROXIES": "-1"})
