"""Times in the browser's zone: a seller who never chose a zone signs in from a browser in Tokyo
and sees the worklist, Up next and the record in Tokyo time, with the record's own time beside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from saas.auth.models import Role, User
from saas.engine.models import StepRun
from saas.extensions import db
from saas.records.models import Record
from saas.tenancy import tenant_context
from saas.web import dates
from tests.browser.test_records import sign_in
from tests.worklist import factories as f

pytestmark = pytest.mark.browser
TOKYO = ZoneInfo("Asia/Tokyo")


def _plain(text: str) -> str:
    """Playwright compares text with whitespace normalised (CLDR's narrow no-break spaces)."""
    return text.replace("\u202f", " ")


def test_a_seller_in_tokyo_sees_tokyo_time(app, live_server, browser, make_tenant, make_user):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    seller = make_user(tenant, roles=[Role.SELLER], email="sam@contoso.example")
    day = datetime.now(UTC).date() + timedelta(days=3)
    due = datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo
    created = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # Jan 1, 2027, 8:30 AM in Tokyo
    with app.app_context(), tenant_context(tenant.id):
        seq = f.sequence([{"type": "call", "name": "Call the buyer"}], name="Calls")
        record = f.lead(first_name="Lena", last_name="London", company="Thames Tea")
        record.time_zone = "Europe/London"
        enrollment = f.connect(record, seq, seller.id)
        db.session.flush()
        db.session.execute(update(StepRun).where(StepRun.enrollment_id == enrollment.id)
                           .values(due_at=due))
        db.session.execute(update(Record).where(Record.id == record.id)
                           .values(created_at=created))
        db.session.commit()

    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  timezone_id="Asia/Tokyo", locale="en-US")
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        sign_in(page, live_server, "contoso", "sam@contoso.example")
        expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
        with app.app_context(), tenant_context(tenant.id):
            zone = db.session.execute(select(User.time_zone, User.time_zone_chosen)
                                      .where(User.id == seller.id)).one()
        assert tuple(zone) == ("Asia/Tokyo", False)

        row = page.locator("#worklist tbody tr").filter(has_text="Lena London")
        mine = dates.format_datetime(due, TOKYO)
        expect(row).to_contain_text(_plain(mine))  # "... 12:00 PM", Tokyo time
        expect(row).to_contain_text("due in")
        there = dates.elsewhere(due, "Europe/London", TOKYO)
        assert there.endswith("in London") and " for you · " in there
        expect(row).to_contain_text(_plain(there))
        assert row.locator("time").first.get_attribute("datetime") == due.isoformat()
        assert "Japan Standard Time" in row.locator("time").first.get_attribute("title")

        page.get_by_role("link", name="Lena London").click()
        expect(page.get_by_role("heading", name="Lena London")).to_be_visible()
        upnext = page.locator("#upnext")
        expect(upnext).to_contain_text(_plain(mine))
        expect(upnext).to_contain_text(_plain(there))
        expect(page.locator("main")).to_contain_text("Jan 1, 2027, 8:30 AM")  # Created

        page.locator(".usermenu summary").click()
        page.get_by_role("link", name="Profile: Asia/Tokyo").click()
        expect(page.locator("#current-time-zone")).to_have_text("Asia/Tokyo")
        # The hint is the time in Tokyo now, as the browser there reads its own clock.
        hours = page.evaluate("""[0, -2].map(m => new Date(Date.now() + m * 60000)
            .toLocaleString('en-US', {hour: 'numeric', minute: '2-digit'}).split(':')[0])""")
        hint = page.locator("#current-local-time").inner_text()
        assert any(f", {h}:" in hint for h in hours), (hint, hours)
    finally:
        context.close()
