"""Every signed-in page, once per role, in one browser: axe-core finds no serious or critical
violation (WCAG 2.2 AA rules), the page fits a 390 px phone without horizontal scrolling (WCAG
1.4.10), and nothing breaks the Content-Security-Policy (no console error)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from saas.admin.models import AuditEvent
from saas.auth.models import Role
from saas.engine.connect import connect_record
from saas.extensions import db
from saas.messaging.models import OutboxMessage
from saas.segments.models import Segment
from saas.sellers.models import TimeOff
from saas.sequences.models import Step
from saas.tenancy import tenant_context
from saas.timeutil import utcnow
from tests.browser.test_records import sign_in
from tests.worklist import factories as f

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
AXE_RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa",
                                    "best-practice"]}});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => v.id + " (" + v.impact + "): " + v.help + " -- "
              + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "));
}"""
OVERFLOW = """() => {
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth <= width) { return []; }
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    let clipped = getComputedStyle(el).position === "absolute" ? false : null;
    for (let up = el.parentElement; clipped === null && up && up !== document.body;
         up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible") { clipped = true; break; }
    }
    if (box.right > width + 1 && el.offsetParent !== null && !clipped) {
      wide.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
                + (el.className && el.className.baseVal === undefined
                   ? "." + el.className.trim().split(/\\s+/).join(".") : "")
                + " " + Math.round(box.right) + "px");
    }
  }
  return [document.documentElement.scrollWidth + "px wide"].concat(wide.slice(0, 6));
}"""


def _workspace(app, make_tenant, make_user):
    """A tenant with something on every page: leads and an opportunity, templates, an active
    sequence with a condition, a connected lead waiting for its seller, a segment, an outbox
    message and audit events."""
    tenant = make_tenant("contoso", name="Contoso Coffee", opportunities=True)
    admin = make_user(tenant, roles=[Role.SYSTEM_ADMINISTRATOR, Role.SEQUENCE_MANAGER,
                                     Role.SELLER],
                      email="ada@contoso.example", name="Ada Admin-Lovelace")
    seller = make_user(tenant, roles=[Role.SELLER], email="sam@contoso.example",
                       name="Sam Seller")
    with app.app_context(), tenant_context(tenant.id):
        template = f.email_template(name="Trade show thanks",
                                    subject="Thanks for visiting us, {{ record.first_name }}")
        f.sms_template(name="Quick ping")
        sequence = f.sequence([
            {"type": "email", "name": "Introductory email",
             "description": "Thank them for visiting the stand.",
             "config": {"template_id": template.id}},
            {"type": "wait", "name": "Wait 1 hour", "config": {"days": 0, "hours": 1}},
            {"type": "call", "name": "Follow-up call"},
            {"type": "task", "name": "Send the brochure"}], name="Trade show follow-up")
        leads = [f.lead(first_name=first, last_name=last, company=company,
                        email=f"{first.lower()}@{company.lower()}.example",
                        lead_source="Trade show", owner_id=seller.id)
                 for first, last, company in [("Ana", "Visitor", "Fabrikam"),
                                              ("Bruno", "Díaz-Villanueva", "Northwind"),
                                              ("Chen", "Wu", "Tailspin")]]
        for lead in leads:
            connect_record(lead, sequence.lineage_id, seller_id=seller.id)
        connect_record(f.lead(first_name="Dora", last_name="Mine", company="Litware"),
                       sequence.lineage_id, seller_id=admin.id)
        f.lead(record_type="opportunity", first_name="Eve", last_name="Deal",
               company="Adventure Works", status="open")
        segment = Segment(name="Trade show leads", status="active", record_type="lead",
                          rules={"op": "and", "rules": [{"field": "lead_source",
                                                         "operator": "equals",
                                                         "value": "Trade show"}]})
        db.session.add(segment)
        db.session.add(OutboxMessage(purpose="invitation", to_address="new@contoso.example",
                                     from_address="no-reply@example.com",
                                     subject="You are invited", text_body="Join us."))
        db.session.add(AuditEvent(actor_id=admin.id, actor_name=admin.name,
                                  action="user.invited", target="new@contoso.example"))
        db.session.add(TimeOff(user_id=seller.id, starts_on=utcnow().date(),
                               ends_on=utcnow().date(), cover_id=admin.id,
                               note="Trade fair", status="planned"))
        db.session.commit()
        step_id = db.session.execute(select(Step.id).where(
            Step.sequence_id == sequence.id, Step.name == "Follow-up call")).scalar_one()
        ids = {"sequence": sequence.id, "step": step_id, "lead": leads[0].id,
               "segment": segment.id, "template": template.id,
               "outbox": db.session.execute(select(OutboxMessage.id)).scalar_one(),
               "seller": seller.id}
    return tenant, admin, seller, ids


def _pages_of(role: str, ids: dict) -> list[str]:
    if role == "seller":
        return ["", "worklist", "leads", f"records/{ids['lead']}", "account/availability",
                "account/password", f"sellers/{ids['seller']}"]
    seq = ids["sequence"]
    return [
        "", "worklist", "leads", "leads/new", "opportunities", f"records/{ids['lead']}",
        f"records/{ids['lead']}/edit", "segments", f"segments/{ids['segment']}",
        f"segments/{ids['segment']}/assignment", "templates", f"templates/{ids['template']}",
        "sequences", "sequences/new", f"sequences/{seq}", f"sequences/{seq}?step={ids['step']}",
        f"sequences/{seq}/settings", f"sequences/{seq}/connected", "analytics",
        f"analytics/sequences/{seq}", "imports", "settings/users", "settings/users/invite",
        "settings/licence", "settings/workspace", "settings/fields", "settings/audit",
        "settings/outbox", f"settings/outbox/{ids['outbox']}", "settings/messaging",
        "settings/calendar", "settings/api-keys/", "settings/webhooks",
        "settings/messaging/suppressions", "account/availability", "account/password",
        "sellers/", f"sellers/{ids['seller']}",
    ]


def _check_every_page(page, base: str, paths: list[str]) -> list[str]:
    problems: list[str] = []
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    for path in paths:
        console.clear()
        page.set_viewport_size(DESKTOP)
        response = page.goto(f"{base}/{path}")
        assert response is not None and response.status == 200, (path, response)
        page.wait_for_load_state("load")
        page.evaluate(AXE)
        for violation in page.evaluate(AXE_RUN):
            problems.append(f"/{path} (desktop): {violation}")
        page.set_viewport_size(PHONE)
        # the page handles the resize (a box that now scrolls becomes focusable) before a frame
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")
        wide = page.evaluate(OVERFLOW)
        if wide:
            problems.append(f"/{path} (390 px): too wide: {', '.join(wide)}")
        for violation in page.evaluate(AXE_RUN):
            problems.append(f"/{path} (390 px): {violation}")
        for message in console:
            problems.append(f"/{path}: console error: {message}")
    return problems


def _phone_record_page(page, url: str):
    """On a phone the menu hides behind "Menu", and the record page starts with Up next."""
    page.set_viewport_size(PHONE)
    page.goto(url)
    nav = page.get_by_role("navigation", name="Main")
    toggle = page.get_by_role("button", name="Menu")
    expect(nav).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Worklist")).to_be_visible()
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    upnext = page.locator("#upnext").bounding_box()
    details = page.get_by_role("heading", name="Details").bounding_box()
    assert upnext and details and upnext["y"] < details["y"]


@pytest.mark.parametrize("role", ["admin", "seller"])
def test_every_page_passes_axe_and_fits_a_phone(role, app, live_server, browser, make_tenant,
                                                make_user):
    tenant, admin, seller, ids = _workspace(app, make_tenant, make_user)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        user = admin if role == "admin" else seller
        sign_in(page, live_server, tenant.slug, user.email)
        page.wait_for_url(f"{live_server}/{tenant.slug}/**")
        problems = _check_every_page(page, f"{live_server}/{tenant.slug}",
                                     _pages_of(role, ids))
        if role == "seller":
            _phone_record_page(page, f"{live_server}/{tenant.slug}/records/{ids['lead']}")
        else:  # served at the root, where browsers and crawlers look, with no redirect
            icon = page.request.get(f"{live_server}/favicon.ico", max_redirects=0)
            assert icon.status == 200 and icon.headers["content-type"] == "image/vnd.microsoft.icon"
    finally:
        context.close()
    assert not problems, "\n".join(problems)
