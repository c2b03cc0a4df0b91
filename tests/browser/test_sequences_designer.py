"""reference/004, exercise 2, tasks 1-4: create "Trade show follow-up" from scratch (an email,
a one-hour wait, a phone call), save and activate it with the confirmation; and an A/B test step
with a 70/30 split that the designer shows with both versions."""

import re

import pytest
from playwright.sync_api import expect

from saas.auth.models import Role
from tests.browser.test_records import sign_in

pytestmark = pytest.mark.browser


def _add(page, plus_label: str, tab: str, kind: str):
    page.get_by_role("link", name=plus_label).click()
    pane = page.locator("#pane")
    expect(pane.get_by_role("heading", name="Add a step")).to_be_visible()
    if tab != "Steps":
        pane.get_by_role("link", name=tab).click()
    pane.get_by_role("button", name=kind).click()
    expect(pane.get_by_role("button", name="Save and close")).to_be_visible()
    return pane


def test_trade_show_follow_up_from_scratch_to_active(live_server, page, make_tenant,
                                                     make_user):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example")
    sign_in(page, live_server, "contoso", "mo@contoso.example")

    # Task 1: create the sequence
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sequences").click()
    expect(page.get_by_text("No sequences yet.")).to_be_visible()
    page.get_by_role("link", name="+ New sequence").first.click()
    expect(page.get_by_role("heading", name="Trade show follow-up")).to_be_visible()
    page.get_by_role("link", name="Start from scratch").click()
    page.get_by_label("Name").fill("Trade show follow-up")
    page.get_by_label("Description").fill(
        "A test sequence, used to follow up potential customers after trade shows.")
    expect(page.get_by_label("Record type")).to_have_value("lead")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Trade show follow-up")).to_be_visible()
    expect(page.locator("#start-tile")).to_be_visible()

    # Task 2: the first activity, an email
    pane = _add(page, "Add a step at the start", "Steps", "Send an email")
    pane.get_by_label("Name").fill("Introductory email")
    pane.get_by_label("Description").fill("Introduce the prospect to the sales team")
    pane.get_by_role("button", name="Close", exact=True).click()
    expect(page.locator("#main").get_by_text("“Introductory email” is saved.")).to_be_visible()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#main").get_by_text("“Trade show follow-up” is saved.")).to_be_visible()

    # Task 3: a one-hour wait, then a phone call
    pane = _add(page, "Add a step after “Introductory email”", "Steps", "Set wait time")
    pane.get_by_label("Days").fill("0")
    pane.get_by_label("Hours").fill("1")
    pane.get_by_role("button", name="Save and close").click()
    expect(page.locator(".tile-summary", has_text="Wait 1 hour")).to_be_visible()
    pane = _add(page, "Add a step after “Wait”", "Steps", "Phone call")
    pane.get_by_label("Name").fill("Follow-up call")
    pane.get_by_role("button", name="Save and close").click()
    expect(page.locator(".tile-name", has_text="Follow-up call")).to_be_visible()
    names = page.locator(".canvas .tile-name").all_inner_texts()
    assert names == ["Start", "Introductory email", "Wait", "Follow-up call", "End"]
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#main").get_by_text("It is ready to activate.")).to_be_visible()

    # Task 4: activate after "I understand"
    page.get_by_role("link", name="Activate").click()
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_text("Tick “I understand” to confirm the activation.")).to_be_visible()
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Activate").click()
    banner = page.locator("#active-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("This sequence is active.")
    expect(page.locator("#sequence-status")).to_have_text("Active")
    expect(page.get_by_role("link", name="Add a step at the start")).to_have_count(0)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sequences").click()
    row = page.locator("#sequences tbody tr", has_text="Trade show follow-up")
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("Leads")


def test_ab_test_step_with_a_70_30_split(live_server, page, make_tenant, make_user):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example")
    sign_in(page, live_server, "contoso", "mo@contoso.example")
    page.goto(f"{live_server}/contoso/sequences/new")
    page.get_by_role("link", name="Start from scratch").click()
    page.get_by_label("Name").fill("Subject line test")
    page.get_by_role("button", name="Next").click()

    pane = _add(page, "Add a step at the start", "Steps", "A/B test")
    pane.get_by_label("Display name").fill("Short or long subject")
    slider = pane.get_by_label("Audience split: version A gets")
    slider.fill("70")
    expect(pane.locator("#split-output")).to_have_text("A 70% / B 30%")
    pane.get_by_label("Version A name").fill("Short subject")
    pane.get_by_label("Version B name").fill("Long subject")
    pane.get_by_label("Winning metric").select_option(label="Clicks")
    pane.get_by_role("button", name="Save and close").click()

    tile = page.locator(".tile-ab_test")
    expect(tile).to_contain_text("Short or long subject")
    expect(tile.locator('[data-version="A"]')).to_have_text("Version A · Short subject · 70%")
    expect(tile.locator('[data-version="B"]')).to_have_text("Version B · Long subject · 30%")
    expect(tile).to_contain_text("A 70% / B 30% · winner by clicks")

    # A split outside 10..90 is refused with its message on the step form.
    tile.get_by_role("link").click()
    page.locator("#pane").get_by_label("Version B name").fill("")
    page.locator("#pane").get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#main").get_by_text("Give version B a name.")).to_be_visible()


def test_unsaved_step_changes_are_kept_unless_the_manager_leaves_them(
        app, live_server, page, make_tenant, make_user):
    from saas.extensions import db
    from saas.tenancy import tenant_context
    from tests.engine.factories import build_sequence

    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example")
    with app.app_context(), tenant_context(tenant.id):
        sequence = build_sequence([{"type": "call", "name": "Intro call"},
                                   {"type": "task", "name": "Send brochure"}],
                                  name="Draft follow-up", status="draft")
        db.session.commit()
        sequence_id = sequence.id
    sign_in(page, live_server, "contoso", "mo@contoso.example")
    page.goto(f"{live_server}/contoso/sequences/{sequence_id}")
    page.locator(".tile-main", has_text="Intro call").click()
    expect(page).to_have_url(re.compile(r"step=\d+"))
    page.wait_for_load_state()  # the page's scripts have run (a person cannot type sooner)
    pane = page.locator("#pane")
    pane.get_by_label("Name").fill("Intro call with the buyer")

    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator(".tile-main", has_text="Send brochure").click()
    expect(pane.get_by_label("Name")).to_have_value("Intro call with the buyer")  # still here
    assert asked == ["Your changes to this step are not saved. Leave without saving them?"]

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".tile-main", has_text="Send brochure").click()
    expect(pane.get_by_label("Name")).to_have_value("Send brochure")
    expect(page.locator(".tile-name", has_text="Intro call")).to_have_text("Intro call")

    pane.get_by_label("Name").fill("Send the brochure")  # saving asks nothing
    pane.get_by_role("button", name="Save and close").click()
    expect(page.locator(".tile-name", has_text="Send the brochure")).to_be_visible()
