"""Settings > Calendar: the working week, closure days by hand and from a preset, removal; only
system administrators; bad input answers next to the field and changes nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from saas.auth.models import Role
from saas.calendars.models import Calendar, ClosureDay
from saas.extensions import db
from saas.tenancy import tenant_context


@pytest.fixture
def admin_client(app, make_tenant, make_user, login):
    tenant = make_tenant("acme")
    admin = make_user(tenant, roles=[Role.SYSTEM_ADMINISTRATOR])
    client = app.test_client()
    login(client, admin)
    client.tenant = tenant
    return client


def _closures(app, tenant) -> list[tuple[date, str]]:
    with app.app_context(), tenant_context(tenant.id):
        return [(c.day, c.name) for c in db.session.execute(
            select(ClosureDay).order_by(ClosureDay.day)).scalars()]


def test_an_empty_calendar_says_what_to_do(admin_client):
    page = admin_client.get("/acme/settings/calendar")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "No closure days yet." in text
    assert 'value="09:00"' in text and 'value="17:00"' in text  # the default week
    assert 'aria-current="page"' in text and ">Calendar<" in text


def test_a_closure_day_is_added_and_removed(app, admin_client):
    answer = admin_client.post("/acme/settings/calendar/closures",
                               data={"day": "2027-03-29", "name": "Easter Monday"})
    assert answer.status_code == 302
    assert _closures(app, admin_client.tenant) == [(date(2027, 3, 29), "Easter Monday")]
    page = admin_client.get("/acme/settings/calendar").get_data(as_text=True)
    assert "Monday, March 29, 2027" in page and "Easter Monday" in page
    assert "data-confirm=" in page  # removal asks first
    # The same day again: refused next to the field.
    again = admin_client.post("/acme/settings/calendar/closures",
                              data={"day": "2027-03-29", "name": "Again"})
    assert again.status_code == 422
    assert "This day is already a closure day." in again.get_data(as_text=True)
    with app.app_context(), tenant_context(admin_client.tenant.id):
        closure_id = db.session.execute(select(ClosureDay.id)).scalar_one()
    assert admin_client.post(
        f"/acme/settings/calendar/closures/{closure_id}/delete").status_code == 302
    assert _closures(app, admin_client.tenant) == []


@pytest.mark.parametrize(("data", "message"), [
    ({"day": "29/03/2027", "name": "Easter Monday"}, "Enter a date, e.g. 2026-12-25."),
    ({"day": "", "name": "Easter Monday"}, "Enter a date, e.g. 2026-12-25."),
    ({"day": "2027-03-29", "name": ""}, "Enter a name, e.g. Christmas Day."),
    ({"day": "2027-03-29", "name": "x" * 121}, "Use at most 120 characters."),
    ({"day": "1850-01-01", "name": "Old"}, "Enter a date between 2000 and 2100."),
])
def test_a_bad_closure_day_is_refused_next_to_the_field(app, admin_client, data, message):
    answer = admin_client.post("/acme/settings/calendar/closures", data=data)
    assert answer.status_code == 422
    assert '<p class="error" id="' in answer.get_data(as_text=True)
    assert message in answer.get_data(as_text=True)
    assert _closures(app, admin_client.tenant) == []


def test_the_working_week_is_saved_and_checked(app, admin_client):
    answer = admin_client.post("/acme/settings/calendar/week",
                               data={"days": ["0", "1", "2", "3"], "day_start": "08:30",
                                     "day_end": "18:00"})
    assert answer.status_code == 302
    with app.app_context(), tenant_context(admin_client.tenant.id):
        row = db.session.execute(select(Calendar)).scalar_one()
        assert (row.working_days, row.day_start, row.day_end) == ("0123", "08:30", "18:00")
    for data, message in [
        ({"day_start": "09:00", "day_end": "17:00"}, "Choose at least one working day."),
        ({"days": "0", "day_start": "17:00", "day_end": "09:00"},
         "The working day must end after it starts."),
        ({"days": "0", "day_start": "9h", "day_end": "17:00"}, "Enter the hours as HH:MM"),
        ({"days": "9", "day_start": "09:00", "day_end": "17:00"}, 'id="days-error"'),
    ]:
        refused = admin_client.post("/acme/settings/calendar/week", data=data)
        assert refused.status_code == 422, data
        assert message in refused.get_data(as_text=True), data
    with app.app_context(), tenant_context(admin_client.tenant.id):
        row = db.session.execute(select(Calendar)).scalar_one()
        assert (row.working_days, row.day_start, row.day_end) == ("0123", "08:30", "18:00")


def test_a_preset_adds_this_year_and_next_once(app, admin_client):
    answer = admin_client.post("/acme/settings/calendar/presets", data={"preset": "gb-eng"},
                               follow_redirects=True)
    assert answer.status_code == 200
    added = _closures(app, admin_client.tenant)
    years = {d.year for d, _name in added}
    assert len(years) == 2 and max(years) == min(years) + 1
    assert any(name == "Boxing Day" for _d, name in added)
    again = admin_client.post("/acme/settings/calendar/presets", data={"preset": "gb-eng"},
                              follow_redirects=True)
    assert "nothing was added" in again.get_data(as_text=True)
    assert len(_closures(app, admin_client.tenant)) == len(added)
    unknown = admin_client.post("/acme/settings/calendar/presets", data={"preset": "xx"})
    assert unknown.status_code == 422


def test_the_french_preset_in_french(app, make_tenant, make_user, login):
    tenant = make_tenant("lyon")
    admin = make_user(tenant, roles=[Role.SYSTEM_ADMINISTRATOR])
    client = app.test_client()
    login(client, admin)
    client.post("/lyon/language", data={"language": "fr"})
    page = client.post("/lyon/settings/calendar/presets", data={"preset": "fr"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Lundi de Pâques" in page
    assert "jours de fermeture ajoutés" in page


def test_only_system_administrators(app, make_tenant, make_user, login):
    tenant = make_tenant("acme")
    manager = make_user(tenant, roles=[Role.SEQUENCE_MANAGER])
    client = app.test_client()
    login(client, manager)
    assert client.get("/acme/settings/calendar").status_code == 403
    assert client.post("/acme/settings/calendar/closures",
                       data={"day": "2027-03-29", "name": "X"}).status_code == 403
    with app.app_context(), tenant_context(tenant.id):
        assert db.session.execute(select(func.count()).select_from(ClosureDay)).scalar() == 0
