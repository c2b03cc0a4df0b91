"""A sequence manager creates a lead by hand, fixes a mistake the form points out, finds it."""

import pytest
from playwright.sync_api import expect

from saas.auth.models import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page, live_server, slug, email):
    page.goto(f"{live_server}/{slug}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_create_a_lead_by_hand_and_find_it(live_server, page, make_tenant, make_user):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example",
              name="Mo Manager")
    sign_in(page, live_server, "contoso", "mo@contoso.example")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Leads").click()
    expect(page.get_by_text("No leads yet.")).to_be_visible()
    page.get_by_role("link", name="New lead").click()

    page.get_by_label("First name").fill("Ana")
    page.get_by_label("Last name").fill("Lima")
    page.get_by_label("Company").fill("Fabrikam")
    page.get_by_label("Email").fill("ana@fabrikam")
    page.get_by_label("Phone").fill("06 12 34 56 78")
    page.get_by_label("Lead source").select_option("Trade show")
    page.get_by_role("button", name="Create lead").click()

    expect(page.locator("#field-email-error")).to_contain_text("is not a valid email address")
    expect(page.locator("#field-phone-error")).to_contain_text("add the country code")
    expect(page.get_by_label("First name")).to_have_value("Ana")  # nothing typed is lost

    page.get_by_label("Email").fill("ana.lima@fabrikam.example")
    page.get_by_label("Country").select_option("FR")
    page.get_by_role("button", name="Create lead").click()

    expect(page.get_by_text("Lead Ana Lima is created.")).to_be_visible()
    expect(page.get_by_role("heading", name="Ana Lima")).to_be_visible()
    expect(page.get_by_text("+33612345678")).to_be_visible()
    expect(page.get_by_role("heading", name="Up next")).to_be_visible()

    page.get_by_role("link", name="← Leads").click()
    page.get_by_label("Search").fill("fabrikam")
    page.get_by_role("button", name="Apply", exact=True).click()
    row = page.locator("#records tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Ana Lima")
    expect(row).to_contain_text("Trade show")
