"""The worklist in the browser leads with the work: an email row offers Compose, a call row
Call, a task Open; rows sit under Overdue, Today and Later; a seller ticks three activities and
completes them at once after one confirmation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from saas.auth.models import Role
from saas.engine import clock
from saas.engine.models import StepRun
from saas.extensions import db
from saas.tenancy import tenant_context
from tests.browser.test_records import sign_in
from tests.worklist import factories as f

pytestmark = pytest.mark.browser


def test_a_seller_works_the_list_by_activity_and_completes_three_at_once(
        app, live_server, page, make_tenant, make_user):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    seller = make_user(tenant, roles=[Role.SELLER], email="sam@contoso.example")
    with app.app_context(), tenant_context(tenant.id):
        template = f.email_template()
        emails = f.sequence([{"type": "email", "name": "Intro email",
                              "config": {"template_id": template.id}}], name="Emails")
        calls = f.sequence([{"type": "call", "name": "Discovery call"}], name="Calls")
        tasks = f.sequence([{"type": "task", "name": "Send the brochure"}], name="Brochures")
        email_run = f.current_run(f.connect(f.lead(first_name="Eve", last_name="Email"),
                                            emails, seller.id).id)
        call_run = f.current_run(f.connect(f.lead(first_name="Carl", last_name="Call"),
                                           calls, seller.id).id)
        for first, last in (("Ana", "Alpha"), ("Bob", "Bravo"), ("Cleo", "Charlie")):
            f.connect(f.lead(first_name=first, last_name=last), tasks, seller.id)
        db.session.execute(update(StepRun).where(StepRun.id == email_run.id)
                           .values(due_at=clock.now() - timedelta(days=3)))
        db.session.execute(update(StepRun).where(StepRun.id == call_run.id)
                           .values(due_at=clock.now() + timedelta(days=5)))
        db.session.commit()

    sign_in(page, live_server, "contoso", "sam@contoso.example")
    table = page.locator("#worklist")
    headings = table.locator("tr.wl-group th")
    expect(headings).to_have_text(["Overdue", "Today", "Later"])
    rows = table.locator("tbody tr")
    eve = rows.filter(has_text="Eve Email")
    expect(eve.get_by_role("link", name="Compose", exact=True)).to_be_visible()
    expect(eve).to_contain_text("3 days overdue")
    expect(eve.get_by_role("button", name="Mark complete")).to_have_count(0)
    carl = rows.filter(has_text="Carl Call")
    expect(carl.get_by_role("link", name="Call", exact=True)).to_be_visible()
    ana = rows.filter(has_text="Ana Alpha")
    expect(ana.get_by_role("link", name="Open", exact=True)).to_be_visible()
    expect(ana.get_by_role("button", name="Mark complete")).to_be_visible()

    # Call opens the record with the call outcome form open.
    carl.get_by_role("link", name="Call", exact=True).click()
    expect(page.get_by_role("heading", name="Carl Call")).to_be_visible()
    expect(page.locator("#upnext details.un-call")).to_have_attribute("open", "")
    page.go_back()

    for name in ("Ana Alpha", "Bob Bravo", "Cleo Charlie"):
        page.get_by_label(f"Select {name}").check()
    expect(page.get_by_label("With selected:")).to_have_value("complete")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("3 activities completed.")).to_be_visible()
    assert questions == ["Complete or skip the selected activities? Their sequences move on "
                         "to the next step."]
    expect(rows.filter(has_text="Ana Alpha")).to_have_count(0)
    expect(rows.filter(has_text="Eve Email")).to_have_count(1)

    # "Select all on this page", then snooze: no confirmation, the rows leave until then.
    page.get_by_label("Select all on this page").check()
    page.get_by_label("With selected:").select_option("snooze")
    expect(page.get_by_label("Until (UTC)").first).to_be_visible()
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("2 activities snoozed.")).to_be_visible()
    expect(page.get_by_text("Nothing to do right now.")).to_be_visible()
