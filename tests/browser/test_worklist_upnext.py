"""reference/004, exercise 2, task 6, as the seller: the connected lead's Up next shows the
introductory email; the seller sends it from the composer, sees the one-hour wait, and once it has
expired (the engine's clock moved forward, the tick run) logs the follow-up call as connected,
which completes the sequence for that lead."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from saas.auth.models import Role
from saas.engine import clock
from saas.engine.connect import connect_record
from saas.engine.models import Enrollment
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.messaging.models import OutboxMessage
from saas.tenancy import tenant_context
from tests.browser.test_records import sign_in
from tests.worklist import factories as f

pytestmark = pytest.mark.browser


def test_seller_works_the_trade_show_follow_up(app, live_server, page, make_tenant, make_user):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    seller = make_user(tenant, roles=[Role.SELLER], email="sam@contoso.example",
                       name="Sam Seller")
    with app.app_context(), tenant_context(tenant.id):
        template = f.email_template(
            name="Trade show thanks", subject="Thanks for visiting us, {{ record.first_name }}",
            html="<p>Hi {{ record.first_name }}, it was great to meet you at our stand.</p>")
        sequence = f.sequence([
            {"type": "email", "name": "Introductory email",
             "description": "Thank them for visiting the stand.",
             "config": {"template_id": template.id}},
            {"type": "wait", "name": "Wait 1 hour", "config": {"days": 0, "hours": 1}},
            {"type": "call", "name": "Follow-up call"}], name="Trade show follow-up")
        lead = f.lead(first_name="Ana", last_name="Visitor", company="Fabrikam",
                      email="ana@fabrikam.example", phone="+33612345678",
                      lead_source="Trade show", owner_id=seller.id)
        connect_record(lead, sequence.lineage_id, seller_id=seller.id)
        db.session.commit()
        lead_id = lead.id

    sign_in(page, live_server, "contoso", "sam@contoso.example")
    # The seller lands on the worklist, where the email is waiting.
    expect(page.get_by_role("heading", name="My worklist")).to_be_visible()
    row = page.locator("#worklist tbody tr").filter(has_text="Ana Visitor")
    expect(row).to_contain_text("Introductory email")
    expect(row).to_contain_text("Trade show follow-up")
    row.get_by_role("link", name="Ana Visitor").click()

    panel = page.locator("#upnext")
    expect(panel.get_by_text("Introductory email")).to_be_visible()
    expect(panel.get_by_text("Thank them for visiting the stand.")).to_be_visible()
    expect(panel.locator(".un-upcoming")).to_contain_text("Wait 1 hour")
    expect(panel.locator(".un-upcoming")).to_contain_text("Follow-up call")

    panel.get_by_text("Open composer").click()
    expect(panel.get_by_label("Subject")).to_have_value("Thanks for visiting us, Ana")
    expect(panel.get_by_label("Message")).to_contain_text("great to meet you at our stand")
    panel.get_by_label("Message").fill(
        "Hi Ana, it was great to meet you at our stand. Shall we talk this week?")
    panel.get_by_role("button", name="Send email").click()

    panel = page.locator("#upnext")
    expect(panel.get_by_text("Sent. The record moves on to its next step.")).to_be_visible()
    expect(panel.locator(".un-waiting")).to_contain_text("Waiting 1 hour")
    expect(panel.locator(".un-done")).to_contain_text("Introductory email")
    expect(panel.locator(".un-done")).to_contain_text("by Sam Seller")
    expect(panel.locator(".un-upcoming")).to_contain_text("Follow-up call")
    with app.app_context(), tenant_context(tenant.id):
        message = db.session.execute(select(OutboxMessage)).scalar_one()
        assert message.to_address == "ana@fabrikam.example"
        assert "Shall we talk this week?" in message.text_body

    # An hour later (the engine's clock, shared through Redis), the tick expires the wait.
    with app.app_context():
        clock.move_forward(timedelta(hours=1, minutes=5))
        run_tick(budget_seconds=5)
    page.reload()
    panel = page.locator("#upnext")
    expect(panel.get_by_text("Follow-up call")).to_be_visible()
    expect(panel.get_by_role("link", name="Call +33612345678")).to_have_attribute(
        "href", "tel:+33612345678")
    panel.get_by_text("Log the call").click()
    panel.get_by_label("Connected").check()
    panel.get_by_label("Notes (optional)").fill("Wants a demo next Tuesday.")
    panel.get_by_role("button", name="Log call and complete").click()

    panel = page.locator("#upnext")
    expect(panel.get_by_text("Call logged: Connected.", exact=False)).to_be_visible()
    expect(panel.locator(".un-ended")).to_contain_text("Sequence completed")
    expect(panel.locator(".un-done")).to_contain_text("Connected")
    with app.app_context(), tenant_context(tenant.id):
        enrollment = db.session.execute(
            select(Enrollment).where(Enrollment.record_id == lead_id)).scalar_one()
        assert enrollment.status == "completed"
        clock.set_offset(0)

    # Nothing is left on the worklist.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Worklist").click()
    expect(page.get_by_text("Nothing to do right now.")).to_be_visible()
