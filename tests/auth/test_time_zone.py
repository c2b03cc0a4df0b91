"""The user's time zone: taken from the browser at sign-in until they choose one on their
profile, which shows it with the time there now."""

from __future__ import annotations

from sqlalchemy import select

from saas.auth.models import Role, User
from saas.extensions import db
from saas.tenancy import tenant_context


def _zone(app, user) -> tuple[str, bool]:
    with app.app_context(), tenant_context(user.tenant.id):
        row = db.session.execute(select(User.time_zone, User.time_zone_chosen)
                                 .where(User.id == user.id)).one()
    return row.time_zone, row.time_zone_chosen


def _sign_in(client, user, zone):
    return client.post(f"/{user.tenant.slug}/login", data={
        "email": user.email, "password": user.password, "browser_time_zone": zone})


def test_the_sign_in_page_asks_the_browser_for_its_zone(client, admin):
    html = client.get("/acme/login").get_data(as_text=True)
    assert 'name="browser_time_zone" type="hidden"' in html
    assert "/static/js/browser-zone.js" in html
    assert "resolvedOptions().timeZone" in client.get("/static/js/browser-zone.js") \
        .get_data(as_text=True)


def test_signing_in_takes_the_browsers_zone_until_one_is_chosen(app, client, admin):
    assert _zone(app, admin) == ("UTC", False)
    assert _sign_in(client, admin, "Asia/Tokyo").status_code == 302
    assert _zone(app, admin) == ("Asia/Tokyo", False)
    client.post("/acme/logout")
    _sign_in(client, admin, "America/New_York")  # travelling: follows the browser
    assert _zone(app, admin) == ("America/New_York", False)

    assert client.post("/acme/account/time-zone",
                       data={"time_zone": "Europe/Paris"}).status_code == 302
    assert _zone(app, admin) == ("Europe/Paris", True)
    client.post("/acme/logout")
    assert _sign_in(client, admin, "Asia/Tokyo").status_code == 302
    assert _zone(app, admin) == ("Europe/Paris", True)  # the choice stands


def test_anything_but_a_zone_from_the_browser_is_ignored(app, client, admin):
    for junk in ("Mars/Olympus", "../../etc/passwd", "", "x" * 64, "<script>"):
        assert _sign_in(client, admin, junk).status_code == 302
        assert _zone(app, admin) == ("UTC", False)
        client.post("/acme/logout")
    too_long = _sign_in(client, admin, "x" * 65)  # refused by the form: no sign-in at all
    assert too_long.status_code == 200 and _zone(app, admin) == ("UTC", False)


def test_a_wrong_password_changes_no_zone(app, client, admin):
    client.post("/acme/login", data={"email": admin.email, "password": "nope",
                                     "browser_time_zone": "Asia/Tokyo"})
    assert _zone(app, admin) == ("UTC", False)


def test_the_profile_shows_the_zone_and_the_time_there(app, client, make_tenant, make_user,
                                                       login):
    tenant = make_tenant("acme")
    me = make_user(tenant, roles=[Role.SELLER])
    _sign_in(client, me, "Asia/Tokyo")
    home = client.get("/acme/worklist").get_data(as_text=True)
    assert "Profile: Asia/Tokyo" in home  # the user menu says it on every page
    page = client.get("/acme/account/availability").get_data(as_text=True)
    assert "<h1>Your profile</h1>" in page
    assert '<strong id="current-time-zone">Asia/Tokyo</strong>' in page
    assert 'id="current-local-time"' in page
    assert "Taken from your browser when you sign in" in page
    client.post("/acme/account/time-zone", data={"time_zone": "Asia/Tokyo"})
    page = client.get("/acme/account/availability").get_data(as_text=True)
    assert "Taken from your browser" not in page
