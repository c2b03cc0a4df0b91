"""The README's English screenshots, taken from the current UI: the leads list filtered on Trade
show, the "Trade show leads" segment simulated, the "Trade show follow-up" sequence active in the
designer, a seller's worklist (at a desktop's width and a phone's, 390 x 844) and a lead's Up
next panel. Skipped unless SCREENSHOTS names a folder:

    SCREENSHOTS=static/screenshots .venv/bin/python -m pytest \
        tests/browser/test_readme_screenshots.py

Each page is also read, so the run fails when a page no longer shows what its picture is of.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from saas.auth.models import Role
from saas.engine import clock
from saas.engine.models import StepRun
from saas.extensions import db
from saas.records.models import Record
from saas.tenancy import tenant_context
from tests.browser.test_records import sign_in
from tests.browser.test_segments import after_swap
from tests.worklist import factories as f

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.environ.get("SCREENSHOTS"),
                                 reason="SCREENSHOTS names the folder to write them to")]
DESKTOP = {"width": 1280, "height": 820}
PHONE = {"width": 390, "height": 844}

PEOPLE = [("Ana", "Alvarez", "Fabrikam", "Trade show"), ("Bruno", "Berger", "Northwind",
          "Trade show"), ("Chen", "Cho", "Litware", "Trade show"), ("Dana", "Diaz", "Contoso",
          "Web"), ("Eli", "Evans", "Tailspin", "Trade show"), ("Fay", "Fischer", "Adatum",
          "Referral"), ("Gus", "Greer", "Proseware", "Trade show"), ("Hana", "Hill", "Woodgrove",
          "Web")]


def shoot(page, name: str, **options) -> None:
    page.screenshot(path=os.path.join(os.environ["SCREENSHOTS"], f"{name}.png"), **options)


def _world(app, tenant, seller) -> int:
    """Leads, an active "Trade show follow-up" and a second sequence, their activities due
    overdue, today and later; returns the record whose Up next is shown."""
    with app.app_context(), tenant_context(tenant.id):
        intro = f.email_template(
            name="Trade show thanks", subject="Thanks for visiting us, {{ record.first_name }}",
            html="<p>Hi {{ record.first_name }}, it was great to meet you at our stand.</p>")
        follow_up = f.sequence([
            {"type": "email", "name": "Introductory email",
             "description": "Thank them for visiting the stand.",
             "config": {"template_id": intro.id}},
            {"type": "wait", "name": "Wait 1 day", "config": {"days": 1, "hours": 0}},
            {"type": "call", "name": "Follow-up call",
             "description": "Ask what they thought of the demo."},
            {"type": "task", "name": "Send the price list"}],
            name="Trade show follow-up", settings={"allow_skip_wait": True})
        referrals = f.sequence([
            {"type": "call", "name": "Thank-you call"},
            {"type": "linkedin_connect", "name": "Connect on LinkedIn"}], name="Referrals")
        records = {}
        for first, last, company, source in PEOPLE:
            records[first] = f.lead(first_name=first, last_name=last, company=company,
                                    lead_source=source, owner_id=seller.id,
                                    email=f"{first.lower()}@{company.lower()}.example")
        for first, (_l, _c, source) in zip(records, ((p[1], p[2], p[3]) for p in PEOPLE),
                                           strict=True):
            f.connect(records[first], follow_up if source == "Trade show" else referrals,
                      seller.id)
        dues = {"Ana": -2, "Bruno": -1, "Chen": 0, "Dana": 0, "Eli": 0, "Fay": 2, "Gus": 3,
                "Hana": 5}
        for first, days in dues.items():
            db.session.execute(update(StepRun).where(StepRun.record_id == records[first].id)
                               .values(due_at=clock.now() + timedelta(days=days, hours=1)))
        db.session.commit()
        return records["Chen"].id


def test_readme_screenshots(app, live_server, browser, make_tenant, make_user):
    tenant = make_tenant("contoso", name="Contoso Coffee")
    make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mo@contoso.example",
              name="Mo Manager")
    seller = make_user(tenant, roles=[Role.SELLER], email="sam@contoso.example",
                       name="Sam Seller")
    upnext_record = _world(app, tenant, seller)
    with app.app_context(), tenant_context(tenant.id):
        follow_up_id = db.session.execute(select(StepRun.sequence_id).join(
            Record, Record.id == StepRun.record_id).where(Record.id == upnext_record)).scalar()

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    sign_in(page, live_server, "contoso", "mo@contoso.example")
    page.goto(f"{live_server}/contoso/leads?lead_source=Trade+show")
    expect(page.locator("main")).to_contain_text("Gus Greer")
    expect(page.locator("main")).not_to_contain_text("Dana Diaz")
    shoot(page, "leads")

    page.goto(f"{live_server}/contoso/segments/new")
    page.get_by_label("Name", exact=True).fill("Trade show leads")
    after_swap(page, lambda: page.locator('select[name="c-r.0-field"]')
               .select_option(label="Lead source"))
    page.locator('select[name="c-r.0-value"]').select_option("Trade show")
    page.get_by_role("button", name="Simulate results").click()
    expect(page.get_by_role("heading", name="Simulated members: 5")).to_be_visible()
    shoot(page, "segment")

    page.goto(f"{live_server}/contoso/sequences/{follow_up_id}")
    expect(page.locator("main")).to_contain_text("Sellers may skip it")
    shoot(page, "designer")
    context.close()

    for name, viewport in (("worklist", DESKTOP), ("worklist-phone", PHONE)):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        page.set_default_timeout(20_000)
        sign_in(page, live_server, "contoso", "sam@contoso.example")
        expect(page.locator("#worklist tr.wl-group th")).to_have_text(
            ["Overdue", "Today", "Later"])
        expect(page.locator("#worklist")).to_contain_text("Compose")
        if name == "worklist-phone":  # the rows, below the filters
            page.locator("#wl-bulk").scroll_into_view_if_needed()
            page.evaluate("() => window.scrollBy(0, document.getElementById('wl-bulk')"
                          ".getBoundingClientRect().top - 8)")
        shoot(page, name)
        if name == "worklist":
            page.goto(f"{live_server}/contoso/records/{upnext_record}")
            expect(page.locator("#upnext")).to_contain_text("Introductory email")
            shoot(page, "upnext")
        context.close()
