"""A manager adds an assignment rule to a segment (fixing a mistake on the way); a lead created
by hand that joins the segment gets the rule's seller as its owner; a seller marks themself away."""

import pytest
from playwright.sync_api import expect

from saas.auth.models import Role
from saas.extensions import db
from saas.segments.models import Segment
from saas.tenancy import tenant_context
from tests.browser.test_records import sign_in

pytestmark = pytest.mark.browser


def test_add_a_rule_and_a_new_lead_gets_its_seller(app, live_server, page, make_tenant,
                                                   make_user):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example", name="Mo")
    make_user(tenant, roles=[Role.SELLER], name="Sam Seller")
    make_user(tenant, roles=[Role.SELLER], name="Tina Seller")
    with app.app_context(), tenant_context(tenant.id):
        segment = Segment(name="Trade show leads", record_type="lead", status="active",
                          rules={"op": "and", "rules": [{"field": "lead_source",
                                                         "operator": "equals",
                                                         "value": "Trade show"}]})
        db.session.add(segment)
        db.session.commit()
        segment_id = segment.id
    sign_in(page, live_server, "contoso", "mo@contoso.example")

    page.goto(f"{live_server}/contoso/segments/{segment_id}")
    page.get_by_role("link", name="Assignment rules").click()
    expect(page.get_by_text("No rules yet")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Trade shows to Sam")
    page.get_by_label("Field 1").select_option(label="Lead source")
    page.get_by_label("Operator 1").select_option("equals")
    page.get_by_label("Value 1").fill("Carrier pigeon")
    page.get_by_label("Specific sellers").check()
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator("#conditions-0-value-error")).to_contain_text("is not one of")
    expect(page.locator("#seller_ids-error")).to_have_text("Choose at least one seller.")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Trade shows to Sam")

    page.get_by_label("Value 1").fill("Trade show")
    page.get_by_label("Sam Seller").check()
    page.get_by_role("button", name="Add rule").click()
    expect(page.get_by_text("The rule “Trade shows to Sam” is added.")).to_be_visible()
    row = page.locator("#assignment-rules tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Lead source equals Trade show")
    expect(row).to_contain_text("Sam Seller")

    page.goto(f"{live_server}/contoso/leads/new")
    page.get_by_label("First name").fill("Ana")
    page.get_by_label("Last name").fill("Lima")
    page.get_by_label("Lead source").select_option("Trade show")
    page.get_by_label("Owner").select_option(label="No owner")  # the form proposes Mo
    page.get_by_role("button", name="Create lead").click()
    expect(page.get_by_text("Lead Ana Lima is created.")).to_be_visible()
    expect(page.locator("dd", has_text="Sam Seller")).to_be_visible()


def test_a_seller_marks_themself_unavailable(live_server, page, make_tenant, make_user):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SELLER], email="sam@contoso.example", name="Sam Seller")
    sign_in(page, live_server, "contoso", "sam@contoso.example")
    page.goto(f"{live_server}/contoso/account/availability")
    expect(page.locator("#availability-state")).to_contain_text("You are available.")
    page.get_by_role("button", name="Mark me unavailable").click()
    expect(page.get_by_text("You are unavailable: assignment rules skip you")).to_be_visible()
    expect(page.get_by_role("button", name="Mark me available")).to_be_visible()
