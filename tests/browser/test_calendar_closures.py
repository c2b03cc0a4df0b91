"""Issue 23: an administrator adds a closure day in Settings > Calendar, and a record's upcoming
steps in a sequence that counts waits in working time move past it.

The sequence: a call (due at the next working time), a 1-day wait, a follow-up call. The
expected days are worked out here from the default week (Monday to Friday, 09:00-17:00, UTC),
independently of the engine: the wait ends on the working day after the call's, and once that
day is closed, on the working day after it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from playwright.sync_api import expect

from saas.auth.models import Role
from saas.engine import clock
from saas.engine.connect import connect_record
from saas.extensions import db
from saas.tenancy import tenant_context
from tests.browser.test_records import sign_in
from tests.worklist import factories as f

pytestmark = pytest.mark.browser


def _weekday_after(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _first_working_day(now: datetime) -> date:
    if now.weekday() < 5 and now.hour < 17:
        return now.date()
    return _weekday_after(now.date())


def _shown(day: date) -> str:
    return f"{day:%b} {day.day}, {day.year}"  # as the page writes it: "Dec 8, 2026"


def test_a_closure_day_moves_the_upcoming_steps(app, live_server, page, make_tenant, make_user):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SYSTEM_ADMINISTRATOR], email="ada@contoso.example",
              name="Ada Admin")
    seller = make_user(tenant, roles=[Role.SELLER], name="Sam Seller")
    with app.app_context(), tenant_context(tenant.id):
        sequence = f.sequence([
            {"type": "call", "name": "Intro call"},
            {"type": "wait", "name": "Wait a day", "config": {"days": 1}},
            {"type": "call", "name": "Follow-up call"}],
            name="Working-time follow-up", settings={"working_time": True})
        lead = f.lead(first_name="Ana", last_name="Visitor", company="Fabrikam",
                      owner_id=seller.id)
        connect_record(lead, sequence.lineage_id, seller_id=seller.id)
        db.session.commit()
        lead_id = lead.id
    first = _first_working_day(clock.now())
    landing = _weekday_after(first)
    moved = _weekday_after(landing)

    sign_in(page, live_server, "contoso", "ada@contoso.example")
    page.goto(f"{live_server}/contoso/records/{lead_id}")
    upcoming = page.locator("#upnext .un-upcoming")
    expect(upcoming).to_contain_text("Wait a day")
    expect(upcoming.locator("li").filter(has_text="Follow-up call")).to_contain_text(
        _shown(landing))

    # Settings > Calendar: nothing closed yet; the administrator closes the landing day.
    page.goto(f"{live_server}/contoso/settings/")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Calendar").click()
    expect(page.get_by_role("heading", name="Calendar", exact=True)).to_be_visible()
    expect(page.get_by_text("No closure days yet.")).to_be_visible()
    form = page.locator("#add-closure")
    form.get_by_role("button", name="Add the closure day").click()  # empty: refused
    expect(form.get_by_text("Enter a date, e.g. 2026-12-25.")).to_be_visible()
    form = page.locator("#add-closure")
    form.get_by_label("Date").fill(landing.isoformat())
    form.get_by_label("Name").fill("Company away day")
    form.get_by_role("button", name="Add the closure day").click()
    expect(page.get_by_text("“Company away day” is a closure day.")).to_be_visible()
    expect(page.locator("#closure-days")).to_contain_text("Company away day")

    # Back on the record: the wait and the follow-up call moved past the closure day.
    page.goto(f"{live_server}/contoso/records/{lead_id}")
    upcoming = page.locator("#upnext .un-upcoming")
    follow_up = upcoming.locator("li").filter(has_text="Follow-up call")
    expect(follow_up).to_contain_text(_shown(moved))
    expect(follow_up).not_to_contain_text(_shown(landing))
    expect(upcoming.locator("li").filter(has_text="Wait a day")).to_contain_text(_shown(moved))

    # Removing the closure day asks first, then the dates come back.
    page.goto(f"{live_server}/contoso/settings/calendar")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#closure-days").get_by_role("button", name="Remove").click()
    expect(page.get_by_text("No closure days yet.")).to_be_visible()
    page.goto(f"{live_server}/contoso/records/{lead_id}")
    expect(page.locator("#upnext .un-upcoming li").filter(has_text="Follow-up call")
           ).to_contain_text(_shown(landing))
