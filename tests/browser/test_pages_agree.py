"""Issue 18, pages that agree with themselves, in Chromium: the record page after the seller
finishes a sequence from Up next (no reload), and assigning one seller to a selection of
connections waiting for one on Connected records."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from saas.auth.models import Role
from saas.engine.connect import connect_many, connect_record
from saas.extensions import db
from saas.tenancy import tenant_context
from tests.browser.test_records import sign_in
from tests.engine.factories import build_sequence
from tests.worklist import factories as f

pytestmark = pytest.mark.browser


def test_the_record_page_after_finishing_a_sequence_from_up_next(app, live_server, page,
                                                                 make_tenant, make_user):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    seller = make_user(tenant, roles=[Role.SELLER], email="sam@contoso.example",
                       name="Sam Seller")
    with app.app_context(), tenant_context(tenant.id):
        sequence = f.sequence([{"type": "task", "name": "Research the company"},
                               {"type": "call", "name": "Follow-up call"}],
                              name="Trade show follow-up")
        lead = f.lead(first_name="Ana", last_name="Visitor", phone="+33612345678",
                      owner_id=seller.id)
        connect_record(lead, sequence.lineage_id, seller_id=seller.id)
        db.session.commit()
        lead_id = lead.id
    sign_in(page, live_server, "contoso", "sam@contoso.example")
    page.goto(f"{live_server}/contoso/records/{lead_id}")
    panel, block = page.locator("#upnext"), page.locator("#record-sequences")
    expect(block).to_contain_text("Current step: Research the company")
    expect(block.get_by_label("Connect sequence")).to_have_count(0)

    panel.get_by_role("button", name="Mark complete").click()
    expect(panel.get_by_text("Done. The record moves on to its next step.")).to_be_visible()
    expect(block).to_contain_text("Current step: Follow-up call")
    expect(block).to_contain_text("1 step done")

    panel.get_by_text("Log the call").click()
    panel.get_by_label("Connected").check()
    panel.get_by_role("button", name="Log call and complete").click()
    expect(panel.get_by_text("Call logged: Connected. That was the last step: the sequence is "
                             "completed for this record.")).to_be_visible()
    expect(panel.locator(".un-ended")).to_contain_text("Sequence completed")
    # The Sequences block below agrees, without a reload.
    expect(block).to_contain_text("Completed")
    expect(block).to_contain_text("2 steps done")
    expect(block).not_to_contain_text("Active")
    expect(block).not_to_contain_text("Current step")
    expect(block.get_by_role("button", name="Pause")).to_have_count(0)
    expect(block.get_by_role("button", name="Disconnect")).to_have_count(0)
    # The completed sequence may run again; the picker offers it.
    expect(block.get_by_label("Connect sequence")).to_contain_text("Trade show follow-up")
    expect(page.locator("#record-delete form")).to_have_attribute(
        "data-confirm", "Delete Ana Visitor? This cannot be undone.")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1


def test_assign_a_seller_to_a_selection(app, live_server, page, make_tenant, make_user,
                                        add_records):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example",
              name="Ada Admin-First")
    sam = make_user(tenant, roles=[Role.SELLER], name="Sam Seller")
    names = ["Ana", "Ben", "Cy", "Di"]
    ids = add_records(tenant, 4, owner_id=None, first_name=lambda i: names[i],
                      last_name="Nobody", email=lambda i: f"{names[i].lower()}@example.com")
    (owned,) = add_records(tenant, 1, owner_id=sam.id, first_name="Eve", last_name="Owned",
                           email="eve@example.com")
    with app.app_context(), tenant_context(tenant.id):
        sequence = build_sequence([{"type": "call", "name": "Intro call"}],
                                  name="Trade show follow-up")
        connect_many([*ids, owned], sequence.lineage_id)
        db.session.commit()
        sequence_id = sequence.id
    sign_in(page, live_server, "contoso", "mo@contoso.example")
    page.goto(f"{live_server}/contoso/sequences/{sequence_id}/connected")
    rows = page.locator("#connected-records tbody tr")
    expect(rows).to_have_count(5)
    # No list preselects a person.
    expect(page.get_by_label("Seller for Ana Nobody")).to_have_value("")
    expect(page.get_by_label("Seller for Ana Nobody").locator("option").first
           ).to_have_text("Choose a seller")

    page.get_by_text("4 connected records wait for a seller.").get_by_role("link").click()
    expect(rows).to_have_count(4)
    # On "Needs a seller", assigning is the bulk bar's first action.
    expect(page.get_by_label("With selected:")).to_have_value("assign")
    seller_list = page.get_by_label("Seller to assign")
    expect(seller_list).to_have_value("")
    page.get_by_label("Select all on this page").check()
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("Choose a seller to assign.")).to_be_visible()
    expect(rows).to_have_count(4)

    page.get_by_label("Select all on this page").check()
    page.get_by_label("Seller to assign").select_option(label="Sam Seller")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("Sam Seller assigned to 4 records; their sequences have started.")
           ).to_be_visible()
    expect(page.get_by_role("link", name="Needs a seller (0)")).to_be_visible()
    expect(page.get_by_text("wait for a seller")).to_have_count(0)
    page.get_by_role("link", name="All (5)").click()
    for name in ("Ana Nobody", "Ben Nobody", "Cy Nobody", "Di Nobody", "Eve Owned"):
        row = rows.filter(has_text=name)
        expect(row).to_contain_text("Sam Seller")
        expect(row).to_contain_text("Intro call")
    expect(page.get_by_role("button", name="Assign", exact=True)).to_have_count(0)


def test_the_bulk_seller_list_shows_only_for_assigning(app, live_server, page, make_tenant,
                                                        make_user, add_records):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example", name="Mo")
    ids = add_records(tenant, 1, owner_id=None)
    with app.app_context(), tenant_context(tenant.id):
        sequence = build_sequence([{"type": "call", "name": "Intro call"}], name="Follow-up")
        connect_many(ids, sequence.lineage_id)
        db.session.commit()
        sequence_id = sequence.id
    sign_in(page, live_server, "contoso", "mo@contoso.example")
    page.goto(f"{live_server}/contoso/sequences/{sequence_id}/connected")
    expect(page.get_by_label("With selected:")).to_have_value("pause")
    expect(page.get_by_label("Seller to assign")).to_be_hidden()
    page.get_by_label("With selected:").select_option(label="Assign a seller…")
    expect(page.get_by_label("Seller to assign")).to_be_visible()
