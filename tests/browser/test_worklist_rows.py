"""The worklist in the browser: a row completed and another snoozed without leaving the page
(htmx swaps the row and the counts follow), then auto-advance opens the next record."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from saas.auth.models import Role
from saas.extensions import db
from saas.tenancy import tenant_context
from tests.browser.test_records import sign_in
from tests.worklist import factories as f

pytestmark = pytest.mark.browser


def test_row_actions_without_opening_the_record(app, live_server, page, make_tenant, make_user):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    seller = make_user(tenant, roles=[Role.SELLER], email="sam@contoso.example")
    with app.app_context(), tenant_context(tenant.id):
        seq = f.sequence([{"type": "task", "name": "Send the brochure"}], name="Brochures")
        for first, last in (("Ana", "Alpha"), ("Bob", "Bravo"), ("Cleo", "Charlie")):
            f.connect(f.lead(first_name=first, last_name=last), seq, seller.id)
        db.session.commit()

    sign_in(page, live_server, "contoso", "sam@contoso.example")
    tabs = page.locator("#wl-tabs")
    expect(tabs.get_by_role("link", name="All 3")).to_be_visible()
    row = page.locator("#worklist tbody tr").filter(has_text="Ana Alpha")
    row.get_by_role("button", name="Mark complete").click()
    expect(page.locator("#worklist")).to_contain_text(
        "Ana Alpha: Done. That was the last step: the sequence is completed for this record.")
    expect(tabs.get_by_role("link", name="All 2")).to_be_visible()

    row = page.locator("#worklist tbody tr").filter(has_text="Bob Bravo")
    row.locator("summary", has_text="Snooze").click()
    row.get_by_role("button", name="Snooze").click()
    expect(page.locator("#worklist")).to_contain_text("Bob Bravo: Snoozed until")
    expect(tabs.get_by_role("link", name="All 1")).to_be_visible()

    # With auto-advance on, completing opens the next record.
    page.get_by_label("Open the next record after completing one").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("After completing an activity here, the next record opens.")) \
        .to_be_visible()
    page.get_by_role("link", name="Snoozed").click()
    row = page.locator("#worklist tbody tr").filter(has_text="Bob Bravo")
    row.get_by_role("button", name="Mark complete").click()
    expect(page.get_by_role("heading", name="Cleo Charlie")).to_be_visible()
    expect(page.locator("#upnext")).to_contain_text("Send the brochure")
