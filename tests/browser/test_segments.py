"""reference/004, exercise 1, task 2: a segment "Trade show leads" where Lead source equals
Trade show (choosing the field turns the value into a list of its choices at once), simulated,
saved and activated."""

import pytest
from playwright.sync_api import expect

from saas.auth.models import Role
from tests.browser.test_records import sign_in

pytestmark = pytest.mark.browser


def after_swap(page, action) -> None:
    """Do `action` (a choice that asks htmx for a part of the page) and wait until that part is
    swapped in and settled, so the next choice is made on the new controls."""
    page.evaluate("""() => { window.swapped = new Promise(done => document.body.addEventListener(
        'htmx:afterSettle', () => done(true), {once: true})); }""")
    action()
    page.evaluate("() => window.swapped")


def test_create_simulate_save_and_activate_trade_show_leads(live_server, page, make_tenant,
                                                            make_user, add_records):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example")
    add_records(tenant, 8, lead_source=lambda i: "Trade show" if i % 2 else "Web",
                last_name=lambda i: f"Visitor{i}")
    sign_in(page, live_server, "contoso", "mo@contoso.example")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Segments").click()
    expect(page.get_by_text("No segments yet.")).to_be_visible()
    page.get_by_role("link", name="New segment").first.click()
    page.get_by_label("Name", exact=True).fill("Trade show leads")
    expect(page.get_by_label("Record type")).to_have_value("lead")

    # Add a second row, then remove it: the builder changes without a page reload.
    page.get_by_role("button", name="+ Add row").click()
    expect(page.locator('select[name="c-r.1-field"]')).to_be_visible()
    expect(page.locator('select[name="c-r.1-field"]')).to_be_focused()  # the new row
    page.locator("#rule-r-1").get_by_role("button", name="Remove this row").click()
    expect(page.locator('select[name="c-r.1-field"]')).to_have_count(0)
    expect(page.get_by_label("Name", exact=True)).to_have_value("Trade show leads")

    # Choosing the field brings its choices at once (no Simulate, no submit).
    expect(page.locator('input[name="c-r.0-value"]')).to_be_visible()
    page.locator('select[name="c-r.0-field"]').focus()
    after_swap(page, lambda: page.locator('select[name="c-r.0-field"]')
               .select_option(label="Lead source"))
    value = page.locator('select[name="c-r.0-value"]')
    expect(value).to_be_visible()
    expect(value.locator("option")).to_have_text(
        ["Choose…", "Trade show", "Web", "Referral", "Advertisement", "Partner", "Other"])
    expect(page.locator('select[name="c-r.0-field"]')).to_be_focused()
    expect(page.locator('select[name="c-r.0-operator"] option')).to_have_count(5)
    expect(page.get_by_role("button", name="Update")).to_have_count(0)  # the no-script fallback
    expect(page.locator('select[name="c-r.0-operator"]')).to_have_value("equals")
    value.select_option("Trade show")
    page.get_by_role("button", name="Simulate results").click()
    expect(page.get_by_role("heading", name="Simulated members: 4")).to_be_visible()
    simulation = page.locator("#simulation")
    for i in (1, 3, 5, 7):
        expect(simulation).to_contain_text(f"Visitor{i}")
    expect(simulation).not_to_contain_text("Visitor2")

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The segment “Trade show leads” is saved.")).to_be_visible()
    expect(page.locator("#segment-status")).to_have_text("Draft")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Activate").click()
    expect(page.locator("#segment-status")).to_have_text("Active")
    expect(page.get_by_text("“Trade show leads” is active: 4 records are members.")).to_be_visible()
