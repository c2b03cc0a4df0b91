"""Signing out ends the session on the server (issue 17, hole 2): a session cookie copied before
the sign-out (a shared computer, a stolen cookie) is refused after it."""

from __future__ import annotations

from sqlalchemy import select

from saas.admin.models import AuditEvent
from saas.extensions import db
from saas.tenancy import tenant_context


def _replay(app, cookie: str):
    thief = app.test_client()
    thief.set_cookie("session", cookie, domain="localhost")
    return thief


def test_a_cookie_copied_before_sign_out_is_refused_after_it(app, admin, login):
    client = app.test_client()
    assert login(client, admin).status_code == 302
    copied = client.get_cookie("session").value
    assert _replay(app, copied).get("/acme/").status_code == 200  # the copy works while signed in

    assert client.post("/acme/logout").headers["Location"] == "/acme/login"

    thief = _replay(app, copied)
    answer = thief.get("/acme/")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/acme/login")
    assert thief.get("/acme/settings/users").headers["Location"].startswith("/acme/login")
    # Nor can the copy act: a state change is refused like a page.
    changed = thief.post("/acme/account/password", data={
        "current_password": admin.password, "password": "new-lemon-tree-55",
        "confirm": "new-lemon-tree-55"})
    assert changed.headers["Location"].startswith("/acme/login")
    with app.app_context(), tenant_context(admin.tenant.id):
        assert db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "user.password_changed")).first() is None


def test_signing_in_again_after_sign_out_works(app, admin, login):
    client = app.test_client()
    login(client, admin)
    client.post("/acme/logout")
    assert client.get("/acme/").status_code == 302
    assert login(client, admin).status_code == 302
    assert client.get("/acme/").status_code == 200


def test_sign_out_ends_the_users_other_sessions_too(app, admin, login):
    """One session token per user: signing out anywhere signs out everywhere."""
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, admin)
    login(phone, admin)
    phone.post("/acme/logout")
    assert laptop.get("/acme/").headers["Location"].startswith("/acme/login")


def test_signing_out_when_already_signed_out_is_harmless(client):
    assert client.post("/acme/logout").status_code in (302, 404)
