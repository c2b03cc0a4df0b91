"""Issue 23, LinkedIn steps: a sequence manager adds "LinkedIn – send a connection request" in the
designer and activates the sequence; the seller finds it in the lead's Up next with an "Open
LinkedIn" link to the lead's profile (a new tab), marks it done, and the sequence completes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from saas.auth.models import Role
from saas.engine.connect import connect_record
from saas.engine.models import Enrollment
from saas.extensions import db
from saas.sequences.models import Sequence
from saas.tenancy import tenant_context
from tests.browser.test_records import sign_in
from tests.browser.test_sequences_designer import _add
from tests.worklist import factories as f

pytestmark = pytest.mark.browser
PROFILE = "https://www.linkedin.com/in/ana-visitor"


def test_a_linkedin_step_added_in_the_designer_and_done_from_up_next(
        app, live_server, page, browser, make_tenant, make_user):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example")
    seller = make_user(tenant, roles=[Role.SELLER], email="sam@contoso.example",
                       name="Sam Seller")

    # The manager designs and activates the sequence.
    sign_in(page, live_server, "contoso", "mo@contoso.example")
    page.goto(f"{live_server}/contoso/sequences/new")
    page.get_by_role("link", name="Start from scratch").click()
    page.get_by_label("Name").fill("LinkedIn outreach")
    page.get_by_role("button", name="Next").click()
    pane = _add(page, "Add a step at the start", "Steps", "LinkedIn – send a connection request")
    expect(pane.get_by_role("heading", name="LinkedIn – send a connection request")).to_be_visible()
    expect(pane.get_by_label("Name")).to_have_value("LinkedIn – send a connection request")
    pane.get_by_label("Name").fill("Connect with the visitor")
    pane.get_by_label("Description").fill("Mention the trade show in the note.")
    pane.get_by_role("button", name="Save and close").click()
    expect(page.locator(".tile-name", has_text="Connect with the visitor")).to_be_visible()
    page.get_by_role("link", name="Activate").click()
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Activate").click()
    expect(page.locator("#sequence-status")).to_have_text("Active")

    with app.app_context(), tenant_context(tenant.id):
        sequence = db.session.execute(select(Sequence).where(
            Sequence.name == "LinkedIn outreach")).scalar_one()
        lead = f.lead(first_name="Ana", last_name="Visitor", linkedin_url=PROFILE,
                      owner_id=seller.id)
        connect_record(lead, sequence.lineage_id, seller_id=seller.id)
        db.session.commit()
        lead_id = lead.id

    # The seller works it from Up next.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        sam = context.new_page()
        sam.set_default_timeout(20_000)
        sign_in(sam, live_server, "contoso", "sam@contoso.example")
        row = sam.locator("#worklist tbody tr").filter(has_text="Ana Visitor")
        expect(row).to_contain_text("Connect with the visitor")
        expect(row.get_by_role("link", name="Open LinkedIn")).to_have_attribute("href", PROFILE)
        row.get_by_role("link", name="Ana Visitor").click()

        panel = sam.locator("#upnext")
        expect(panel.get_by_text("Connect with the visitor")).to_be_visible()
        expect(panel.get_by_text("LinkedIn – send a connection request")).to_be_visible()
        expect(panel.get_by_text("Mention the trade show in the note.")).to_be_visible()
        link = panel.get_by_role("link", name="Open LinkedIn")
        expect(link).to_have_attribute("href", PROFILE)
        expect(link).to_have_attribute("target", "_blank")
        assert "noopener" in (link.get_attribute("rel") or "")
        panel.get_by_label("Notes (optional)").fill("Request sent, mentioned the stand.")
        panel.get_by_role("button", name="Mark complete").click()

        panel = sam.locator("#upnext")
        expect(panel.locator(".un-done")).to_contain_text("Connect with the visitor")
        expect(panel.locator(".un-done")).to_contain_text("by Sam Seller")
        expect(panel.locator(".un-done")).to_contain_text("Request sent, mentioned the stand.")
        expect(panel.get_by_role("link", name="Open LinkedIn")).to_have_count(0)
    finally:
        context.close()
    with app.app_context(), tenant_context(tenant.id):
        enrollment = db.session.execute(select(Enrollment).where(
            Enrollment.record_id == lead_id)).scalar_one()
        assert enrollment.status == "completed"
