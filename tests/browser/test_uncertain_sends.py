"""A sequence manager finds an uncertain send from Home (a provider call interrupted, no event
source to settle it), thinks twice about resending it, and marks it as sent instead."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from saas.auth.models import Role
from saas.engine import clock
from saas.engine.connect import connect_many
from saas.engine.models import StepRun
from saas.extensions import db
from saas.templates_.models import MessageTemplate
from saas.tenancy import tenant_context
from tests.browser.test_records import sign_in
from tests.engine.factories import build_sequence

pytestmark = pytest.mark.browser

REASON = "The provider did not answer in time: the message may have left."


def test_a_manager_marks_an_uncertain_send_as_sent_from_home(app, live_server, page, make_tenant,
                                                             make_user, add_records):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example", name="Mo")
    sam = make_user(tenant, roles=[Role.SELLER], name="Sam Seller")
    ids = add_records(tenant, 2, owner_id=sam.id, first_name=lambda i: ["Ana", "Ben"][i],
                      last_name=lambda i: ["Lima", "Ode"][i])
    with app.app_context(), tenant_context(tenant.id):
        template = MessageTemplate(kind="email", name="Welcome", subject="Hi",
                                   html_body="<p>Hello</p>", text_body="Hello")
        db.session.add(template)
        db.session.flush()
        sequence = build_sequence([{"type": "auto_email", "name": "Welcome email",
                                    "config": {"template_id": template.id}},
                                   {"type": "call", "name": "Intro call"}],
                                  name="Trade show follow-up")
        connect_many(ids, sequence.lineage_id)
        attempted = clock.now() - timedelta(minutes=3)
        db.session.execute(update(StepRun).where(StepRun.record_id == ids[0]).values(
            status="unknown", started_at=attempted, completed_at=attempted, error=REASON))
        db.session.commit()
    sign_in(page, live_server, "contoso", "mo@contoso.example")

    card = page.locator("#home-uncertain")
    expect(card).to_contain_text("1 uncertain send to check.")
    expect(card).to_contain_text("Most in “Trade show follow-up”")
    card.click()
    expect(page.get_by_role("link", name="Uncertain sends (1)")).to_have_attribute(
        "aria-current", "page")
    rows = page.locator("#uncertain-sends > li")
    expect(rows).to_have_count(1)
    ana = rows.filter(has_text="Ana Lima")
    expect(ana).to_contain_text("Welcome email")
    expect(ana).to_contain_text(REASON)

    # Resend asks first; saying no changes nothing.
    questions = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    ana.get_by_role("button", name="Resend").click()
    expect(rows).to_have_count(1)
    assert questions == ["Send this message again? If the first one did reach the recipient, "
                         "they get it twice."]

    ana.get_by_role("button", name="Mark as sent").click()
    expect(page.get_by_text("Marked as sent; the connection moves on to its next step.")
           ).to_be_visible()
    expect(page.get_by_role("link", name="Uncertain sends (0)")).to_be_visible()
    expect(page.get_by_text("No uncertain sends: every automated message's outcome is known.")
           ).to_be_visible()

    page.get_by_role("link", name="All (2)").click()
    expect(page.locator("#connected-records tbody tr").filter(has_text="Ana Lima")
           ).to_contain_text("Intro call")
    page.goto(f"{live_server}/contoso/")
    expect(page.locator("#home-sequences")).to_be_visible()
    expect(page.locator("#home-uncertain")).to_have_count(0)
    with app.app_context(), tenant_context(tenant.id):
        assert db.session.execute(select(StepRun.status).where(
            StepRun.record_id == ids[0], StepRun.step_type == "auto_email")).scalar_one() == "sent"
