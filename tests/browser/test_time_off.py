"""A manager sets a seller's time off from today with "Reassign to" a colleague; the
colleague's worklist then shows the seller's activities."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from saas.auth.models import Role
from saas.extensions import db
from saas.tenancy import tenant_context
from saas.timeutil import utcnow
from tests.browser.test_records import sign_in
from tests.worklist import factories as f

pytestmark = pytest.mark.browser


def test_a_manager_reassigns_a_sellers_activities_while_away(app, live_server, page,
                                                             make_tenant, make_user):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example", name="Mo")
    sam = make_user(tenant, roles=[Role.SELLER], name="Sam Seller")
    make_user(tenant, roles=[Role.SELLER], email="tina@contoso.example", name="Tina Seller")
    with app.app_context(), tenant_context(tenant.id):
        seq = f.sequence([{"type": "task", "name": "Call about the order"}])
        for first, last in (("Ana", "Lima"), ("Bo", "Berg")):
            f.connect(f.lead(first_name=first, last_name=last), seq, sam.id)
        db.session.commit()
    today = utcnow().date()

    sign_in(page, live_server, "contoso", "mo@contoso.example")
    page.get_by_role("link", name="Sellers", exact=True).click()
    expect(page.locator("#sellers")).to_contain_text("Tina Seller")
    page.get_by_role("link", name="Sam Seller").click()
    expect(page.get_by_text("No time off planned")).to_be_visible()
    # the last day before the first: the message is next to the field, nothing is saved
    page.get_by_label("First day away").fill((today + timedelta(days=2)).isoformat())
    page.get_by_label("Last day away").fill(today.isoformat())
    page.get_by_role("button", name="Add time off").click()
    expect(page.locator("#ends_on-error")).to_have_text("The last day is before the first day.")

    page.get_by_label("First day away").fill(today.isoformat())
    page.get_by_label("Last day away").fill((today + timedelta(days=2)).isoformat())
    page.get_by_label("Note (optional)").fill("Trade fair in Lyon")
    page.get_by_label("Reassign to").select_option(label="Tina Seller")
    page.get_by_role("button", name="Add time off").click()
    expect(page.get_by_text("Time off saved: Sam Seller is away")).to_be_visible()
    expect(page.locator("#time-off-list")).to_contain_text(
        "With Tina Seller meanwhile: 2 open activities moved.")
    expect(page.locator("#seller-state")).to_contain_text("Away today")

    page.context.clear_cookies()
    sign_in(page, live_server, "contoso", "tina@contoso.example")
    page.goto(f"{live_server}/contoso/worklist")
    worklist = page.locator("#worklist")
    expect(worklist).to_contain_text("Ana Lima")
    expect(worklist).to_contain_text("Bo Berg")
    expect(worklist).to_contain_text("Call about the order")
