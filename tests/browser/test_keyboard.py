"""Keyboard only, with the focus checked after every htmx swap: add a step in the designer and
save and close it; complete an activity on the worklist and on the record's Up next; Escape
closes the Add a step pane and the user menu. What an answer reports is read out by the page's
one live region."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from saas.auth.models import Role
from saas.engine.connect import connect_record
from saas.extensions import db
from saas.tenancy import tenant_context
from tests.browser.test_records import sign_in
from tests.engine.factories import build_sequence
from tests.worklist import factories as f

pytestmark = pytest.mark.browser

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) { return "body"; }
  const label = el.labels && el.labels.length ? el.labels[0].textContent : "";
  return (el.getAttribute("aria-label") || label || el.textContent || "").replace(/\\s+/g, " ")
    .trim();
}"""


def focused(page) -> str:
    return page.evaluate(FOCUSED)


def tab_to(page, name: str, limit: int = 40) -> int:
    """Press Tab until the focused element is called `name`; returns how many presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if focused(page) == name:
            return presses
    raise AssertionError(f"{name!r} not reached in {limit} Tabs (last: {focused(page)!r})")


def test_add_a_step_and_save_and_close_with_the_keyboard(app, live_server, page, make_tenant,
                                                         make_user):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example")
    with app.app_context(), tenant_context(tenant.id):
        sequence = build_sequence([{"type": "task", "name": "Send brochure"}],
                                  name="Draft follow-up", status="draft")
        db.session.commit()
        sequence_id = sequence.id
    sign_in(page, live_server, "contoso", "mo@contoso.example")
    page.goto(f"{live_server}/contoso/sequences/{sequence_id}")
    page.wait_for_load_state()

    tab_to(page, "Add a step after “Send brochure”", limit=60)
    page.keyboard.press("Enter")
    pane = page.locator("#pane")
    expect(pane.get_by_role("heading", name="Add a step")).to_be_focused()

    # Escape closes the pane and gives the focus back to the + that opened it.
    page.keyboard.press("Escape")
    expect(pane.get_by_role("heading", name="Steps")).to_be_visible()
    expect(page.get_by_role("link", name="Add a step after “Send brochure”")).to_be_focused()

    page.keyboard.press("Enter")
    expect(pane.get_by_role("heading", name="Add a step")).to_be_focused()
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('kind') && "
                         "document.activeElement.textContent.includes('Phone call')"):
            break
    else:
        raise AssertionError("the Phone call kind was not reached")
    page.keyboard.press("Enter")
    name = pane.get_by_label("Name")
    expect(name).to_be_focused()  # the new step's form, at its first field
    page.keyboard.press("Control+A")
    page.keyboard.type("Follow-up call")
    assert tab_to(page, "Save and close", limit=12) <= 12  # was 49 Tabs away
    page.keyboard.press("Enter")

    tile = page.locator(".tile-main", has_text="Follow-up call")
    expect(tile).to_be_focused()  # back on the step just saved
    expect(page.locator("#announcer")).to_have_text("“Follow-up call” is saved.")


def test_complete_activities_with_the_keyboard(app, live_server, page, make_tenant, make_user):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    seller = make_user(tenant, roles=[Role.SELLER], email="sam@contoso.example",
                       name="Sam Seller")
    with app.app_context(), tenant_context(tenant.id):
        # Tasks: a row's Mark complete is for them (a call row's main action is Call).
        sequence = f.sequence([{"type": "task", "name": "Research the company"},
                               {"type": "task", "name": "Send brochure"}],
                              name="Trade show follow-up")
        for first in ("Ana", "Bruno", "Chen"):
            lead = f.lead(first_name=first, last_name="Visitor", owner_id=seller.id)
            connect_record(lead, sequence.lineage_id, seller_id=seller.id)
        db.session.commit()
    sign_in(page, live_server, "contoso", "sam@contoso.example")
    expect(page.get_by_role("heading", name="My worklist")).to_be_visible()
    page.wait_for_load_state()

    # The worklist: Mark complete on the first row, the focus moves on to the next row's.
    rows = page.locator("#worklist tbody tr:not(.wl-group)")  # the rows under the group headings
    first_name = rows.nth(0).get_by_role("link").first.inner_text()
    second = rows.nth(1)
    second_name = second.get_by_role("link").first.inner_text()
    tab_to(page, "Mark complete", limit=80)  # past the filters and the bulk bar
    page.keyboard.press("Enter")
    expect(rows.nth(0)).to_contain_text("moves on")
    expect(second.get_by_role("button", name="Mark complete")).to_be_focused()
    expect(page.locator("#announcer")).to_contain_text("moves on")
    assert first_name != second_name

    # The record page: Up next's Mark complete; the focus lands on the next activity.
    page.keyboard.press("Shift+Tab")
    while focused(page) != second_name:
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    panel = page.locator("#upnext")
    expect(panel.get_by_text("Research the company")).to_be_visible()
    page.wait_for_load_state()
    tab_to(page, "Mark complete", limit=60)
    page.keyboard.press("Enter")
    current = panel.locator(".un-current .un-title")
    expect(current).to_contain_text("Send brochure")
    expect(current).to_be_focused()
    expect(page.locator("#announcer")).to_contain_text("moves on")

    # Escape closes the user menu and leaves the focus on it.
    page.locator(".usermenu summary").focus()
    page.keyboard.press("Enter")
    menu = page.locator(".usermenu details")
    expect(menu).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(page.locator(".usermenu summary")).to_be_focused()
